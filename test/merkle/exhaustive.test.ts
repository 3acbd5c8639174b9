import { describe, expect, it } from 'vitest';

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

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const c = h.slice();
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
  return c;
}

describe('merkle against the RFC 6962 reference, every size ≤ 130', () => {
  const trees = treesBySize();

  it('computes every tree hash from tiles', async () => {
    for (let n = 0; n <= MAX; n++) {
      expect(await readTreeHash(trees[n]!.fetch, n)).toEqual(mth(leaves.slice(0, n)));
    }
  });

  it('generates every inclusion proof byte for byte, verifies it, and rejects each flipped bit', async () => {
    for (let n = 1; n <= MAX; n++) {
      const d = leaves.slice(0, n);
      const root = mth(d);
      for (let m = 0; m < n; m++) {
        const got = await proveInclusion(trees[n]!.fetch, m, n);
        expect(got).toEqual(path(m, d));
        const leaf = leafHash(d[m]!);
        expect(leaf).toEqual(refLeaf(d[m]!));
        checkInclusion(m, n, leaf, got, root);
        got.forEach((_, i) => {
          const bad = got.map((h, j) => (j === i ? flipBit(h, m + n + i) : h));
          expect(() => checkInclusion(m, n, leaf, bad, root)).toThrow();
        });
        expect(() => checkInclusion(m, n, flipBit(leaf, n), got, root)).toThrow();
        expect(() => checkInclusion(n, n, leaf, got, root)).toThrow();
        if (got.length > 0) expect(() => checkInclusion(m, n, leaf, got.slice(1), root)).toThrow();
      }
    }
  });

  it('generates every consistency proof byte for byte, verifies it, and rejects each flipped bit', async () => {
    const roots = Array.from({ length: MAX + 1 }, (_, n) => mth(leaves.slice(0, n)));
    for (let n = 1; n <= MAX; n++) {
      for (let m = 1; m <= n; m++) {
        const got = await proveConsistency(trees[n]!.fetch, m, n);
        expect(got).toEqual(m === n ? [] : proof(m, leaves.slice(0, n)));
        checkConsistency(m, n, roots[m]!, roots[n]!, got);
        got.forEach((_, i) => {
          const bad = got.map((h, j) => (j === i ? flipBit(h, m * 7 + i) : h));
          expect(() => checkConsistency(m, n, roots[m]!, roots[n]!, bad)).toThrow();
        });
        if (m < n) {
          expect(() => checkConsistency(m, n, flipBit(roots[m]!, 3), roots[n]!, got)).toThrow();
          expect(() => checkConsistency(m, n, roots[m]!, flipBit(roots[n]!, 5), got)).toThrow();
        }
      }
    }
  });

  it('reads all the tiles a proof needs in one batch', async () => {
    const t = trees[MAX]!;
    t.fetches = 0;
    await proveInclusion(t.fetch, 77, MAX);
    await proveConsistency(t.fetch, 45, MAX);
    expect(t.fetches).toBe(2);
  });
});
