import { describe, expect, it } from 'vitest';

import { toHex } from '../../src/bytes.ts';
import { checkConsistency, checkInclusion, leafHash } from '../../src/merkle/index.ts';
import { proveConsistency, proveInclusion, readTreeHash } from '../../src/tiles/index.ts';
import { entry, TiledTree } from '../helpers/tiled.ts';
import { mth, path, proof, refLeaf } from '../reference/rfc6962.ts';

const MAX = 130;
const leaves = Array.from({ length: MAX }, (_, i) => entry(i));

// Grow one tiled tree a leaf at a time, so every size ≤ MAX is a real right edge; the tiles kept
// for each size are the ones written when the tree had exactly that size.
function treesBySize(): TiledTree[] {
  const out: TiledTree[] = [];
  const t = new TiledTree();
  out.push(Object.assign(new TiledTree(), { edge: t.edge }));
  for (let n = 1; n <= MAX; n++) {
    t.append([leaves[n - 1]!]);
    const snap = new TiledTree();
    snap.edge = t.edge;
    for (const [k, v] of t.objects) snap.objects.set(k, v);
    out.push(snap);
  }
  return out;
}

// Chunks of tree sizes, one test each, so that each stays well within the timeout under load.
const CHUNKS = [
  [1, 60],
  [61, 90],
  [91, 112],
  [113, MAX],
];
const hex = (hs: Uint8Array[]) => hs.map(toHex);

// throws runs f and says whether it threw: expect(f).toThrow() costs about as much as the
// proof check itself, which runs some 150,000 times here; failures are collected and asserted.
function throws(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch {
    return true;
  }
}

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const c = h.slice();
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
  return c;
}

describe('merkle against the RFC 6962 reference, every size ≤ 130', () => {
  const trees = treesBySize();
  const roots = Array.from({ length: MAX + 1 }, (_, n) => mth(leaves.slice(0, n)));

  it('computes every tree hash from tiles', async () => {
    for (let n = 0; n <= MAX; n++) {
      expect(await readTreeHash(trees[n]!.fetch, n)).toEqual(mth(leaves.slice(0, n)));
    }
  });

  it.each(CHUNKS)(
    'generates every inclusion proof byte for byte, verifies it, and rejects each flipped bit (sizes %i to %i)',
    async (lo, hi) => {
      const accepted: string[] = [];
      for (let n = lo; n <= hi; n++) {
        const d = leaves.slice(0, n);
        const root = mth(d);
        for (let m = 0; m < n; m++) {
          const got = await proveInclusion(trees[n]!.fetch, m, n);
          expect(hex(got)).toEqual(hex(path(m, d)));
          const leaf = leafHash(d[m]!);
          expect(toHex(leaf)).toBe(toHex(refLeaf(d[m]!)));
          checkInclusion(m, n, leaf, got, root);
          const bad = (what: string, f: () => unknown) => {
            if (!throws(f)) accepted.push(`${what} for ${m} in ${n}`);
          };
          got.forEach((_, i) => {
            const flipped = got.map((h, j) => (j === i ? flipBit(h, m + n + i) : h));
            bad(`proof hash ${i} flipped`, () => checkInclusion(m, n, leaf, flipped, root));
          });
          bad('leaf flipped', () => checkInclusion(m, n, flipBit(leaf, n), got, root));
          bad('index n', () => checkInclusion(n, n, leaf, got, root));
          if (got.length > 0)
            bad('proof short', () => checkInclusion(m, n, leaf, got.slice(1), root));
        }
      }
      expect(accepted).toEqual([]);
    },
  );

  it.each(CHUNKS)(
    'generates every consistency proof byte for byte, verifies it, and rejects each flipped bit (sizes %i to %i)',
    async (lo, hi) => {
      const accepted: string[] = [];
      for (let n = lo; n <= hi; n++) {
        for (let m = 1; m <= n; m++) {
          const got = await proveConsistency(trees[n]!.fetch, m, n);
          expect(hex(got)).toEqual(m === n ? [] : hex(proof(m, leaves.slice(0, n))));
          checkConsistency(m, n, roots[m]!, roots[n]!, got);
          const bad = (what: string, f: () => unknown) => {
            if (!throws(f)) accepted.push(`${what} for ${m} and ${n}`);
          };
          got.forEach((_, i) => {
            const flipped = got.map((h, j) => (j === i ? flipBit(h, m * 7 + i) : h));
            bad(`proof hash ${i} flipped`, () =>
              checkConsistency(m, n, roots[m]!, roots[n]!, flipped),
            );
          });
          if (m < n) {
            bad('old root flipped', () =>
              checkConsistency(m, n, flipBit(roots[m]!, 3), roots[n]!, got),
            );
            bad('new root flipped', () =>
              checkConsistency(m, n, roots[m]!, flipBit(roots[n]!, 5), got),
            );
          }
        }
      }
      expect(accepted).toEqual([]);
    },
  );

  it('reads all the tiles a proof needs in one batch', async () => {
    const t = trees[MAX]!;
    t.fetches = 0;
    await proveInclusion(t.fetch, 77, MAX);
    await proveConsistency(t.fetch, 45, MAX);
    expect(t.fetches).toBe(2);
  });
});
