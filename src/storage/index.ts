/** Where a log's bytes live: the storage contract and its drivers. */
export { CHECKPOINT_KEY, indexKey } from './storage.ts';
export type { Commit, LogStore, StoredObject } from './storage.ts';
export { MemoryStore } from './memory.ts';
export { LevelStore } from './leveldb.ts';
export type { LevelStoreOptions } from './leveldb.ts';
