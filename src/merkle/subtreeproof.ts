/**
 * Subtrees and subtree consistency proofs (draft-ietf-plants-merkle-tree-certs-03, §4.1 and
 * §4.4), which tlog-witness `sign-subtree` and tlog-mirror `add-entries` use. A subtree [start,
 * end) is valid when start < end and start is a multiple of the smallest power of two at or above
 * end - start. Its consistency proof with a tree of `size` leaves walks down from the root as RFC
 * 9162's SUBPROOF does: at each node of [lo, hi), split at the largest power of two below the
 * width, record the sibling the verifier cannot compute, and go on in the half holding the
 * subtree. When the subtree straddles the split it must start at lo (validity implies it); its
 * left half is then a sibling too, and the right part is proven as a prefix whose hash the
 * verifier does not know. The proof lists the hashes deepest first.
 *
 * The verifier is the same walk: it rebuilds both the subtree hash and the root from the proof
 * and checks both, so it accepts exactly the proofs the planner's ranges produce.
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { type Hash, HASH_SIZE, nodeHash } from './hash.ts';
import type { Range } from './subtree.ts';

function proofError(message: string): LogError {
  return new LogError('bad_request', `merkle: ${message}`);
}

// split returns lo plus the largest power of two below hi - lo (hi - lo ≥ 2).
function split(lo: number, hi: number): number {
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return lo + k;
}

/** isValidSubtree reports whether [start, end) is a subtree (merkle-tree-certs §4.1). */
export function isValidSubtree(start: number, end: number): boolean {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start < end))
    return false;
  let p = 1;
  while (p < end - start) p *= 2;
  return start % p === 0;
}

/**
 * subtreeConsistencyRanges lists the ranges whose hashes form the consistency proof of the
 * subtree [start, end) with the tree of size leaves, deepest first; each range is aligned, so
 * proofSubtrees and buildProof turn them into the proof. It requires a valid subtree with
 * end ≤ size.
 */
export function subtreeConsistencyRanges(start: number, end: number, size: number): Range[] {
  if (!isValidSubtree(start, end) || end > size)
    throw proofError(`[${start}, ${end}) is not a subtree of a tree of size ${size}`);
  const walk = (lo: number, hi: number, s: number, known: boolean): Range[] => {
    if (s === lo && end === hi) return known ? [] : [{ begin: lo, end: hi }];
    const mid = split(lo, hi);
    if (end <= mid) return [...walk(lo, mid, s, known), { begin: mid, end: hi }];
    if (s >= mid) return [...walk(mid, hi, s, known), { begin: lo, end: mid }];
    return [...walk(mid, hi, mid, false), { begin: lo, end: mid }];
  };
  return walk(0, size, start, true);
}

/**
 * checkSubtreeConsistency throws a bad_request LogError unless proof shows that the subtree
 * [start, end) with hash subtreeHash is part of the tree of size leaves with root
 * (merkle-tree-certs §4.4). The subtree must be valid, with end ≤ size.
 */
export function checkSubtreeConsistency(
  start: number,
  end: number,
  size: number,
  subtreeHash: Hash,
  root: Hash,
  proof: readonly Hash[],
): void {
  if (!isValidSubtree(start, end) || end > size)
    throw proofError(`[${start}, ${end}) is not a subtree of a tree of size ${size}`);
  if (subtreeHash.length !== HASH_SIZE || root.length !== HASH_SIZE)
    throw proofError('subtree or root hash is not 32 bytes');
  for (const h of proof) if (h.length !== HASH_SIZE) throw proofError('proof hash is not 32 bytes');
  let i = 0;
  const next = (): Hash => {
    const h = proof[i++];
    if (!h) throw proofError('subtree consistency proof is too short');
    return h;
  };
  type Pair = { sub: Hash; root: Hash };
  const walk = (lo: number, hi: number, s: number, known: boolean): Pair => {
    if (s === lo && end === hi) {
      const h = known ? subtreeHash : next();
      return { sub: h, root: h };
    }
    const mid = split(lo, hi);
    if (end <= mid) {
      const r = walk(lo, mid, s, known);
      return { sub: r.sub, root: nodeHash(r.root, next()) };
    }
    if (s >= mid) {
      const r = walk(mid, hi, s, known);
      return { sub: r.sub, root: nodeHash(next(), r.root) };
    }
    const r = walk(mid, hi, mid, false);
    const left = next();
    return { sub: nodeHash(left, r.sub), root: nodeHash(left, r.root) };
  };
  const got = walk(0, size, start, true);
  if (i !== proof.length) throw proofError('subtree consistency proof is too long');
  if (!equal(got.sub, subtreeHash))
    throw proofError('subtree consistency proof does not lead to the subtree hash');
  if (!equal(got.root, root))
    throw proofError('subtree consistency proof does not lead to the root');
}
