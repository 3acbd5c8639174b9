/**
 * The verifiable index ("map sandwich"): the map function for Rekor entries, the prefix trie and
 * per-key lists with their proofs, the output log's revision leaves, and lookup verification.
 */
export type { AuditOptions, AuditResult } from './audit.ts';
export { auditIndex } from './audit.ts';
export type { CertificateNames } from './cert.ts';
export { certificateNames } from './cert.ts';
export type { Chunk } from './follow.ts';
export { checkPrefix, readChunk } from './follow.ts';
export type { IndexerEvents, IndexerOptions, LookupOptions } from './indexer.ts';
export { Indexer, MAX_PAGE } from './indexer.ts';
export type { ListEdge } from './list.ts';
export {
  appendList,
  EMPTY_LIST,
  listConsistency,
  listLeafHash,
  listRoot,
  pageProof,
  rangeHash,
  verifyPage,
} from './list.ts';
export type { LookupAnswer, VerifiedLookup, VerifyOptions } from './lookup.ts';
export { formatTrieProof, verifyLookup } from './lookup.ts';
export type { Mapped, Problem } from './mapfn.ts';
export {
  digestKey,
  issuerKey,
  issuerSanKey,
  keyHash,
  mapEntry,
  PROBLEMS,
  publicKeyKey,
  sanKey,
} from './mapfn.ts';
export type { Child, Leaf, NodeSource } from './nodes.ts';
export { decodeChild, encodeChild, nodeId, proveKey, updateTrie } from './nodes.ts';
export type { Revision } from './revision.ts';
export { formatRevision, openInput, parseRevision, REVISION_HEADER } from './revision.ts';
export type { Counts, MapState } from './store.ts';
export { EMPTY_STATE, MapStore } from './store.ts';
export type { MapValue, ProofStep, TrieProof } from './trie.ts';
export {
  bitAt,
  commonPrefix,
  EMPTY_MAP_ROOT,
  LEAF_SPLIT,
  mapLeafHash,
  mapNodeHash,
  rootFromTrieProof,
  verifyTrieProof,
} from './trie.ts';
