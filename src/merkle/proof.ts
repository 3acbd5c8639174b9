/**
 * Inclusion and consistency proofs: the verification algorithms of RFC 9162 §2.1.3.2 and
 * §2.1.4.2, and the builder that turns the hashes of planned ranges into a proof.
 */
import { equal } from '../bytes.ts';
import { assert, LogError } from '../errors.ts';
import { foldRight, type Hash, HASH_SIZE, nodeHash } from './hash.ts';
import { type Range, rangeSubtrees, type Subtree, subtreeCount } from './subtree.ts';

/** ProofError reports a proof that does not verify; its message says which check failed. */
function proofError(message: string): LogError {
  return new LogError('bad_request', `merkle: ${message}`);
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function checkHashes(proof: readonly Hash[], what: string): void {
  for (const h of proof) {
    if (h.length !== HASH_SIZE) throw proofError(`${what} has a hash of ${h.length} bytes`);
  }
}

/**
 * rootFromInclusion returns the root implied by an inclusion proof of leafHash at index in a tree
 * of size leaves (RFC 9162 §2.1.3.2), or throws when the proof has the wrong shape.
 */
export function rootFromInclusion(
  index: number,
  size: number,
  leaf: Hash,
  proof: readonly Hash[],
): Hash {
  if (!(index >= 0 && index < size)) throw proofError(`index ${index} is not below size ${size}`);
  if (leaf.length !== HASH_SIZE) throw proofError(`leaf hash has ${leaf.length} bytes`);
  checkHashes(proof, 'inclusion proof');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw proofError('inclusion proof is too long');
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw proofError('inclusion proof is too short');
  return r;
}

/** checkInclusion throws unless proof shows leafHash at index in the tree of size with root. */
export function checkInclusion(
  index: number,
  size: number,
  leaf: Hash,
  proof: readonly Hash[],
  root: Hash,
): void {
  if (!equal(rootFromInclusion(index, size, leaf, proof), root)) {
    throw proofError('inclusion proof does not lead to the root');
  }
}

/**
 * checkConsistency throws unless proof shows that the tree of size2 with root2 extends the tree
 * of size1 with root1 (RFC 9162 §2.1.4.2). As in transparency-dev/merkle, a proof from size 0 is
 * refused: every tree extends the empty one, so such a proof proves nothing.
 */
export function checkConsistency(
  size1: number,
  size2: number,
  root1: Hash,
  root2: Hash,
  proof: readonly Hash[],
): void {
  checkHashes(proof, 'consistency proof');
  if (!(size1 >= 0 && size2 >= size1)) throw proofError(`size ${size1} is above size ${size2}`);
  if (size1 === 0) throw proofError('consistency proof from the empty tree is meaningless');
  if (size1 === size2) {
    if (proof.length > 0) throw proofError('consistency proof between equal sizes is not empty');
    if (!equal(root1, root2)) throw proofError('equal sizes with different roots');
    return;
  }
  if (proof.length === 0) throw proofError('consistency proof is empty');
  let path = proof;
  // When size1 is a power of two, the old root is the first node of the path (§2.1.4.2 step 1).
  if (isPowerOfTwo(size1)) path = [root1, ...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw proofError('consistency proof is too long');
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw proofError('consistency proof is too short');
  if (!equal(fr, root1)) throw proofError('consistency proof does not lead to the first root');
  if (!equal(sr, root2)) throw proofError('consistency proof does not lead to the second root');
}

/** proofSubtrees lists, in order, the perfect subtrees whose hashes a set of ranges needs. */
export function proofSubtrees(ranges: readonly Range[]): Subtree[] {
  // One list appended to, not flatMap's list per range: this runs for every proof a write
  // answers, and flatMap cost more than the rest of the plan (~12 µs of a POST add's proof).
  const out: Subtree[] = [];
  for (const r of ranges) rangeSubtrees(r, out);
  return out;
}

/**
 * buildProof folds the hashes of proofSubtrees(ranges), given in the same order, into one hash
 * per range: the proof.
 */
export function buildProof(ranges: readonly Range[], hashes: readonly Hash[]): Hash[] {
  const out: Hash[] = [];
  let i = 0;
  for (const r of ranges) {
    const n = subtreeCount(r);
    // Most ranges are one subtree: its hash as it is, with no fold and no copy.
    out.push(n === 1 ? hashes[i]! : foldRight(hashes.slice(i, i + n)));
    i += n;
  }
  assert(i === hashes.length, 'merkle: bad math in buildProof');
  return out;
}
