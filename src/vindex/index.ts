/**
 * The verifiable index ("map sandwich"): the map function for Rekor entries, the prefix trie and
 * per-key lists with their proofs, the output log's revision leaves, and lookup verification.
 */
export { auditIndex } from './audit.ts';
export { certificateNames } from './cert.ts';
export { Indexer, MAX_PAGE } from './indexer.ts';
export type { VerifiedLookup } from './lookup.ts';
export { verifyLookup } from './lookup.ts';
export {
  digestKey,
  issuerKey,
  issuerSanKey,
  keyHash,
  mapEntry,
  PROBLEMS,
  sanKey,
} from './mapfn.ts';
export { EMPTY_STATE, MAP_LEVELDB, MapStore } from './store.ts';
export type { MapValue } from './trie.ts';
