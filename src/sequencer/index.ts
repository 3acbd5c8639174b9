/** Turning submissions into a committed, signed tree, publishing it, and reading it back. */
export type { Clock } from './clock.ts';
export { ManualClock, systemClock } from './clock.ts';
export type { ClusterOptions } from './cluster.ts';
export { ClusterCore } from './cluster.ts';
export type { CoreOptions } from './core.ts';
export { SequencerCore } from './core.ts';
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
export type { IntegratorEvents, IntegratorOptions } from './integrator.ts';
export { Integrator } from './integrator.ts';
export type { LeaseEvents, LeaseInfo, LeaseOptions, LeaseRecord, LeaseRole } from './lease.ts';
export { formatLease, isBaseUrl, Lease, LEASE_KEY, parseLease } from './lease.ts';
export type { LogCore, LogEvents, LogOptions, Role } from './log.ts';
export { FROZEN_MESSAGE, Log } from './log.ts';
export { migrate } from './migrate.ts';
export { MirrorCore } from './mirror.ts';
export type { AddResult, PoolOptions, Sequenced, Sequencer } from './pool.ts';
export { Pool } from './pool.ts';
export type {
  CheckpointWitnessing,
  PublisherEvents,
  PublisherOptions,
  PublishTarget,
} from './publisher.ts';
export { Publisher } from './publisher.ts';
export { TileReader } from './reader.ts';
export type { CommitContext, CommitResult, Pending } from './sequence.ts';
export {
  commitBatch,
  freezeCommit,
  FROZEN_PREFIX,
  initialCommit,
  signCheckpoint,
  unixDate,
} from './sequence.ts';
export type { LogState, Published } from './state.ts';
export { loadPublished, loadState, openLock } from './state.ts';
