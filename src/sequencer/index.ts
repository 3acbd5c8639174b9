/** Turning submissions into a committed, signed tree, and reading it back. */
export { FROZEN_MESSAGE, Log } from './log.ts';
export type { AddResult, LogEvents, LogOptions } from './log.ts';
export { TileReader } from './reader.ts';
export { FROZEN_PREFIX, commitBatch, freezeCommit, initialCommit, unixDate } from './sequence.ts';
export type { CommitContext, CommitResult, Pending } from './sequence.ts';
export { loadState, openLock } from './state.ts';
export type { LogState } from './state.ts';
export { fsck } from './fsck.ts';
export type { FsckReport } from './fsck.ts';
export { migrate } from './migrate.ts';
