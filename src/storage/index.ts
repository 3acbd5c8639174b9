/** Where a log's bytes live: the storage contract and its drivers. */
export { HttpStore } from './http.ts';
export { CHECKPOINT_KEY, indexKey } from './storage.ts';
import type { LogStore, VersionedObjects } from './storage.ts';
export type { LocalMap, OrderedLocalMap } from './leveldb.ts';
export { LevelStore, openLocalMap } from './leveldb.ts';
export { MemoryStore } from './memory.ts';
export type { Commit, LogStore, StoredObject, VersionedObjects } from './storage.ts';

/** openS3Store loads the S3 driver on demand, so LevelDB deployments never load the AWS SDK. */
export async function openS3Store(
  opts: import('./s3.ts').S3StoreOptions,
): Promise<LogStore & VersionedObjects> {
  const { S3Store } = await import('./s3.ts');
  return new S3Store(opts);
}
export { IndexedStore } from './indexed.ts';
