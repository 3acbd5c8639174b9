/** Turning submissions into a committed, signed tree, publishing it, and reading it back. */
export type { ClusterOptions } from './cluster.ts';
export type { ForwardAnswer, ForwardAsk, ForwarderEvents } from './forward.ts';
export {
  decodeForwardRequest,
  encodeForwardAnswer,
  FORWARD_PATH,
  FRONTEND_HEADER,
  MAX_FORWARD,
  PROOFS_HEADER,
  PUBLISHED_HEADER,
} from './forward.ts';
export { fsck } from './fsck.ts';
export type { LeaseInfo } from './lease.ts';
export { DEFAULT_LEASE_MS, isBaseUrl, Lease } from './lease.ts';
export type { LogEvents, LogOptions } from './log.ts';
export {
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_PENDING,
  DEFAULT_REPUBLISH_MS,
  FROZEN_MESSAGE,
  Log,
} from './log.ts';
export { migrate } from './migrate.ts';
export type { Published } from './state.ts';
