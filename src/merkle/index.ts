/** RFC 6962 Merkle tree math: pure and synchronous, no I/O. */
export { EMPTY_ROOT, HASH_SIZE, balancedRoot, foldRight, leafHash, nodeHash } from './hash.ts';
export type { Hash } from './hash.ts';
export {
  consistencyRanges,
  inclusionRanges,
  pathRanges,
  rangeSubtrees,
} from './subtree.ts';
export type { Range, Subtree } from './subtree.ts';
export {
  buildProof,
  checkConsistency,
  checkInclusion,
  proofSubtrees,
  rootFromInclusion,
} from './proof.ts';
