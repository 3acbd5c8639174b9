/** Turning submissions into a committed, signed tree, and reading it back. */
export type { ForwardedEntry, ForwarderEvents, ForwarderOptions } from './forward.ts';
export {
  decodeForwardAnswer,
  decodeForwardRequest,
  encodeForwardAnswer,
  encodeForwardRequest,
  FORWARD_PATH,
  Forwarder,
  MAX_FORWARD,
} from './forward.ts';
export type { FsckReport } from './fsck.ts';
export { fsck } from './fsck.ts';
export type { LeaseEvents, LeaseInfo, LeaseOptions, LeaseRecord, LeaseRole } from './lease.ts';
export { formatLease, isBaseUrl, Lease, LEASE_KEY, parseLease } from './lease.ts';
export type { AddResult, LogEvents, LogOptions } from './log.ts';
export { FROZEN_MESSAGE, Log } from './log.ts';
export { migrate } from './migrate.ts';
export { TileReader } from './reader.ts';
export type { CommitContext, CommitResult, Pending } from './sequence.ts';
export { commitBatch, freezeCommit, FROZEN_PREFIX, initialCommit, unixDate } from './sequence.ts';
export type { LogState } from './state.ts';
export { loadState, openLock } from './state.ts';
