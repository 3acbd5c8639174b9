// Subtree consistency proofs (merkle-tree-certs-03 §4.4) against a naive reference built from
// leaf hashes, the draft's two worked examples (figures 7 and 8: [4, 8) and [8, 13) in a tree of
// 14), and RFC 9162 consistency proofs, which a subtree proof from start 0 must equal.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import {
  buildProof,
  checkConsistency,
  checkSubtreeConsistency,
  type Hash,
  isValidSubtree,
  leafHash,
  nodeHash,
  proofSubtrees,
} from '../../src/merkle/index.ts';
import { subtreeConsistencyRanges } from '../../src/merkle/subtreeproof.ts';

const leaves = Array.from({ length: 70 }, (_, i) => leafHash(utf8(`leaf ${i}`)));

// mth is RFC 9162 §2.1.1 read literally.
const memo = new Map<string, Hash>();
function mth(lo: number, hi: number): Hash {
  if (hi - lo === 1) return leaves[lo]!;
  const got = memo.get(`${lo} ${hi}`);
  if (got) return got;
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  const h = nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  memo.set(`${lo} ${hi}`, h);
  return h;
}

// The draft's SUBTREE_SUBPROOF over a list of leaves, recursing on copies of the list.
function naiveProof(start: number, end: number, d: number[], known = true): Hash[] {
  const n = d.length;
  if (start === 0 && end === n) return known ? [] : [mth(d[0]!, d[n - 1]! + 1)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  const [l, r] = [d.slice(0, k), d.slice(k)];
  const L = mth(l[0]!, l[l.length - 1]! + 1);
  const R = mth(r[0]!, r[r.length - 1]! + 1);
  if (end <= k) return [...naiveProof(start, end, l, known), R];
  if (start >= k) return [...naiveProof(start - k, end - k, r, known), L];
  return [...naiveProof(0, end - k, r, false), L];
}

function planned(start: number, end: number, size: number): Hash[] {
  const ranges = subtreeConsistencyRanges(start, end, size);
  const hashes = proofSubtrees(ranges).map((s) =>
    mth(s.index * 2 ** s.level, (s.index + 1) * 2 ** s.level),
  );
  return buildProof(ranges, hashes);
}

function subtrees(size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < size; start++)
    for (let end = start + 1; end <= size; end++)
      if (isValidSubtree(start, end)) out.push([start, end]);
  return out;
}

describe('subtree consistency proofs', () => {
  it('knows which ranges are subtrees', () => {
    expect(
      [
        [0, 1],
        [4, 8],
        [8, 13],
        [8, 16],
        [12, 14],
        [0, 7],
      ].every(([s, e]) => isValidSubtree(s!, e!)),
    ).toBe(true);
    expect(
      [
        [1, 3],
        [4, 9],
        [2, 5],
        [3, 3],
        [5, 4],
        [-1, 0],
        [0.5, 1],
      ].some(([s, e]) => isValidSubtree(s!, e!)),
    ).toBe(false);
  });

  it('matches the draft examples: [4, 8) and [8, 13) in a tree of 14', () => {
    expect(planned(4, 8, 14)).toEqual([mth(0, 4), mth(8, 14)]);
    expect(planned(8, 13, 14)).toEqual([mth(12, 13), mth(13, 14), mth(8, 12), mth(0, 8)]);
  });

  it('plans the naive proof and verifies it, for every subtree of every tree up to 48 leaves', () => {
    let n = 0;
    for (let size = 1; size <= 48; size++) {
      const ids = Array.from({ length: size }, (_, i) => i);
      for (const [start, end] of subtrees(size)) {
        const proof = planned(start, end, size);
        expect(proof).toEqual(naiveProof(start, end, ids));
        checkSubtreeConsistency(start, end, size, mth(start, end), mth(0, size), proof);
        // From start 0 the proof is RFC 9162's consistency proof from end to size.
        if (start === 0 && end < size)
          checkConsistency(end, size, mth(0, end), mth(0, size), proof);
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  // (A proof can verify for another size with the same shape: the checkpoint authenticates size.)
  it('rejects every changed byte, a missing or extra hash, a wrong hash, an end past the size', () => {
    for (const size of [1, 2, 7, 14, 33]) {
      for (const [start, end] of subtrees(size)) {
        const proof = planned(start, end, size);
        const [sub, root] = [mth(start, end), mth(0, size)];
        const bad = (p: Hash[], s = sub, r = root, n = size) =>
          expect(
            () => checkSubtreeConsistency(start, end, n, s, r, p),
            `${start} ${end} ${n} ${p.length}`,
          ).toThrow(/merkle:/);
        proof.forEach((h, i) => {
          const flipped = Uint8Array.from(h);
          flipped[i % 32]! ^= 1;
          bad(proof.map((x, j) => (j === i ? flipped : x)));
        });
        if (proof.length > 0) bad(proof.slice(1));
        bad([...proof, root]);
        bad(proof, leaves[69]!);
        bad(proof, sub, leaves[69]!);
        bad(proof, sub, root, end - 1);
      }
    }
  });

  it('never throws anything but a proof error on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.nat(100),
        fc.nat(100),
        fc.array(fc.uint8Array({ minLength: 31, maxLength: 33 }), { maxLength: 8 }),
        (start, end, size, proof) => {
          try {
            checkSubtreeConsistency(start, end, size, leaves[0]!, leaves[1]!, proof);
          } catch (err) {
            expect(String(err)).toMatch(/merkle:/);
          }
        },
      ),
    );
  });
});
