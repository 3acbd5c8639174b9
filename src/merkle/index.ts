/** RFC 6962 Merkle tree math: pure and synchronous, no I/O. */
export type { Hash } from './hash.ts';
export {
  balancedRoot,
  balancedRootInto,
  EMPTY_ROOT,
  foldRight,
  HASH_SIZE,
  leafHash,
  leafHashInto,
  nodeHash,
} from './hash.ts';
export { buildProof, checkConsistency, checkInclusion, proofSubtrees } from './proof.ts';
export type { Range, Subtree } from './subtree.ts';
export { consistencyRanges, inclusionRanges, rangeSubtrees } from './subtree.ts';
export {
  checkSubtreeConsistency,
  isValidSubtree,
  subtreeConsistencyRanges,
} from './subtreeproof.ts';
