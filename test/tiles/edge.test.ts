// appendToEdge in random batches over a tree that fills level-0, level-1 and level-2 tiles, with
// leaf hashes given and with leaf hashes computed in place in the bundles: both give the same
// writes, and every tile stored as the sequencer stores it (superseded partial tiles deleted)
// equals the reference built from the tlog-tiles and RFC 6962 definitions alone.
import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { equal, toHex } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { leafHash } from '../../src/merkle/index.ts';
import {
  appendToEdge,
  type Edge,
  edgeRoot,
  EMPTY_EDGE,
  ENTRIES,
  type Tile,
  tilePath,
} from '../../src/tiles/index.ts';
import { tileWidth } from '../../src/tiles/tile.ts';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

// Lengths around the byte boundaries of the uint16 length prefix (the in-place leaf hash writes
// over its low byte), including the empty entry and the largest a bundle holds.
const LENGTHS = [0, 1, 2, 31, 255, 256, 257, 511, 512, 1024, 65535];
function entryOf(i: number): Uint8Array {
  const len = i % 97 === 0 ? LENGTHS[(i / 97) % LENGTHS.length]! : 1 + (i % 13);
  const e = new Uint8Array(len);
  for (let j = 0; j < len; j++) e[j] = (i * 31 + j) & 255;
  return e;
}

// 65,536 leaves fill the first level-1 tile, so the last batches write a level-2 tile.
const N = 66_000;
const ENTRY = Array.from({ length: N }, (_, i) => entryOf(i));
const LEAF = ENTRY.map((e) => sha(Uint8Array.of(0), e));

// The hash of the perfect subtree of the span leaves starting at first, from the definition
// (remembered for the larger spans, which every batch's root and every tile above 0 reuse).
const memo = new Map<string, Uint8Array>();
function subtree(first: number, span: number): Uint8Array {
  if (span === 1) return LEAF[first]!;
  const k = `${first}/${span}`;
  const known = memo.get(k);
  if (known) return known;
  const half = span / 2;
  const h = sha(Uint8Array.of(1), subtree(first, half), subtree(first + half, half));
  if (span >= 64) memo.set(k, h);
  return h;
}
function refTile(t: Tile): Uint8Array {
  const parts: Uint8Array[] = [];
  if (t.level === ENTRIES) {
    for (const e of ENTRY.slice(t.n * 256, t.n * 256 + t.width))
      parts.push(Uint8Array.of(e.length >> 8, e.length & 255), e);
  } else {
    const span = 256 ** t.level;
    for (let i = t.n * 256; i < t.n * 256 + t.width; i++) parts.push(subtree(i * span, span));
  }
  return Buffer.concat(parts);
}
// The root of the tree of size s from the definition (RFC 9162 §2.1.1), over the tiles' hashes.
function refRoot(s: number, first = 0): Uint8Array {
  if (s === 0) return sha();
  let k = 1;
  while (k * 2 <= s) k *= 2;
  if (k === s) return subtree(first, s);
  return sha(Uint8Array.of(1), subtree(first, k), refRoot(s - k, first + k));
}

const edgeText = (e: Edge) =>
  `${e.size} ${e.levels.map((l) => l.map(toHex).join(',')).join('/')} ${e.bundle.map(toHex).join(',')}`;

describe('appendToEdge in random batches, up to 66,000 entries', () => {
  it('writes the reference tiles, with leaf hashes given or computed in the bundles', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 9000 })), {
          minLength: 40,
          maxLength: 40,
        }),
        (batches) => {
          const objects = new Map<string, Uint8Array>();
          let given = EMPTY_EDGE;
          let computed = EMPTY_EDGE;
          for (const b of batches) {
            const batch = ENTRY.slice(computed.size, computed.size + b);
            if (batch.length === 0) break;
            const g = appendToEdge(given, batch, batch.map(leafHash));
            const c = appendToEdge(computed, batch);
            expect(c.writes.map((w) => w.path)).toEqual(g.writes.map((w) => w.path));
            c.writes.forEach((w, i) => expect(equal(w.data, g.writes[i]!.data)).toBe(true));
            expect(c.superseded).toEqual(g.superseded);
            expect(edgeText(c.edge)).toBe(edgeText(g.edge));
            for (const w of c.writes) objects.set(w.path, w.data);
            for (const p of c.superseded) objects.delete(p);
            [given, computed] = [g.edge, c.edge];
            expect(edgeRoot(c.edge)).toEqual(refRoot(c.edge.size));
            // The given chain's roots are asked for now and then: its edges extend remembered
            // peaks after an asked one and compute them afresh after one that was not.
            if (b % 3 === 0) expect(edgeRoot(g.edge)).toEqual(refRoot(g.edge.size));
          }
          const s = computed.size;
          const want = new Set<string>();
          for (let level = ENTRIES; level <= 2; level++)
            for (let n = 0; tileWidth(level, n, s) > 0; n++) {
              const t = { level, n, width: tileWidth(level, n, s) };
              want.add(tilePath(t));
              expect(equal(objects.get(tilePath(t)) ?? new Uint8Array(1), refTile(t))).toBe(true);
            }
          expect([...objects.keys()].sort()).toEqual([...want].sort());
        },
      ),
      { numRuns: 3 },
    );
  });

  it('gives each of two different appends to one edge its own root (a commit that failed)', () => {
    let edge: Edge = EMPTY_EDGE;
    for (const b of [3, 100, 61, 200, 1]) {
      const base = appendToEdge(edge, ENTRY.slice(edge.size, edge.size + b)).edge;
      expect(edgeRoot(base)).toEqual(refRoot(base.size));
      // Other entries than the reference's first, then the reference's own: a retried commit.
      const other = ENTRY.slice(N - 50, N - 50 + b);
      const failed = appendToEdge(base, other).edge;
      // Fresh level arrays carry no remembered peaks: their root is computed from the hashes.
      const afresh = { ...failed, levels: failed.levels.map((l) => l.slice()) };
      expect(edgeRoot(failed)).toEqual(edgeRoot(afresh));
      expect(edgeRoot(failed)).not.toEqual(refRoot(failed.size));
      edge = appendToEdge(base, ENTRY.slice(base.size, base.size + b)).edge;
      expect(edgeRoot(edge)).toEqual(refRoot(edge.size));
    }
  });

  it('keeps the hashes right for an edge kept without its bundle, as the index keeps it', () => {
    let edge: Edge = EMPTY_EDGE;
    for (const b of [100, 300, 1, 255, 700]) {
      const batch = ENTRY.slice(edge.size, edge.size + b);
      edge = { ...appendToEdge(edge, batch, batch.map(leafHash)).edge, bundle: [] };
      expect(edgeRoot(edge)).toEqual(refRoot(edge.size));
    }
  });

  it('refuses an entry over 65,535 bytes and leaves the edge as it was', () => {
    const first = appendToEdge(EMPTY_EDGE, ENTRY.slice(0, 300));
    const before = edgeText(first.edge);
    for (const hashes of [undefined, [leafHash(ENTRY[300]!), leafHash(new Uint8Array(65536))]]) {
      const err = (() => {
        try {
          appendToEdge(first.edge, [ENTRY[300]!, new Uint8Array(65536)], hashes);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(LogError);
      expect((err as LogError).code).toBe('too_large');
      expect(edgeText(first.edge)).toBe(before);
    }
  });
});
