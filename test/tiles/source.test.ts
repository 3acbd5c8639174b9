// The one cached tile source and right-edge loader, against a naive RFC 6962 reference: every tree
// size from 0 to 600 (tile height is fixed at 8 by tlog-tiles, so this covers full and partial
// level-0 tiles and bundles and partial level-1 tiles), stored as the sequencer stores it (partial
// tiles pruned) and as a remote log may serve it (some partial tiles gone).
import { describe, expect, it } from 'vitest';

import { equal, toHex } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { leafHash } from '../../src/merkle/index.ts';
import {
  appendToEdge,
  type Edge,
  EMPTY_EDGE,
  ENTRIES,
  loadEdge,
  proveConsistency,
  proveInclusion,
  readTreeHash,
  type Tile,
  TILE_WIDTH,
  tilePath,
  TileSource,
} from '../../src/tiles/index.ts';
import { tileWidth } from '../../src/tiles/tile.ts';
import { mth, path, proof } from '../reference/rfc6962.ts';

const N = 600;
const ENTRY = Array.from({ length: N }, (_, i) =>
  new TextEncoder().encode(`e${i}`.repeat(1 + (i % 4))),
);

// Reference tile bytes from the definitions alone (tlog-tiles "Merkle Tree", "Log Entries").
const memo = new Map<string, Uint8Array>();
function refHash(begin: number, end: number): Uint8Array {
  const k = `${begin}-${end}`;
  if (!memo.has(k)) memo.set(k, mth(ENTRY.slice(begin, end)));
  return memo.get(k)!;
}
function refTile(t: Tile): Uint8Array {
  const parts: number[] = [];
  if (t.level === ENTRIES) {
    for (const e of ENTRY.slice(t.n * 256, t.n * 256 + t.width))
      parts.push(e.length >> 8, e.length & 255, ...e);
    return Uint8Array.from(parts);
  }
  const span = 256 ** t.level;
  for (let i = 0; i < t.width; i++)
    parts.push(...refHash((t.n * 256 + i) * span, (t.n * 256 + i + 1) * span));
  return Uint8Array.from(parts);
}
// Byte comparisons through vitest's deep equality are slow on thousands of tiles.
const same = (a: Uint8Array | null | undefined, b: Uint8Array | null) =>
  a === b || (!!a && !!b && equal(a, b));
const edgeText = (e: Edge) =>
  `${e.size} ${e.levels.map((l) => l.map(toHex).join(',')).join('/')} ${e.bundle.map(toHex).join(',')}`;

// Every tile and bundle of the tree of size s.
function tilesOf(s: number): Tile[] {
  const out: Tile[] = [];
  for (let level = ENTRIES; level <= 2; level++)
    for (let n = 0; tileWidth(level, n, s) > 0; n++)
      out.push({ level, n, width: tileWidth(level, n, s) });
  return out;
}

// A store as the sequencer keeps it: every write, superseded partial tiles deleted.
class PrunedStore {
  readonly objects = new Map<string, Uint8Array>();
  edge: Edge = EMPTY_EDGE;
  fetches: string[][] = [];
  append(count: number): void {
    const batch = ENTRY.slice(this.edge.size, this.edge.size + count);
    const r = appendToEdge(this.edge, batch, batch.map(leafHash));
    for (const w of r.writes) this.objects.set(w.path, w.data);
    for (const p of r.superseded) this.objects.delete(p);
    this.edge = r.edge;
  }
  readonly fetch = async (paths: readonly string[]) => {
    this.fetches.push([...paths]);
    return paths.map((p) => this.objects.get(p) ?? null);
  };
}

describe('TileSource over a pruned store, every size 0..600', () => {
  it('serves every tile of older sizes, proofs and the right edge exactly as the reference', async () => {
    const store = new PrunedStore();
    const capacity = 40_000; // a few tiles: eviction runs all the time
    const source = new TileSource({
      fetch: store.fetch,
      size: () => store.edge.size,
      capacityBytes: capacity,
    });
    for (let S = 0; S <= N; S++) {
      if (S > 0) store.append(1);
      const root = refHash(0, S);
      // The right edge, loaded fresh with its bundle, is the sequencer's own edge.
      const fresh = new TileSource({ fetch: store.fetch, size: () => S, capacityBytes: 0 });
      expect(edgeText(await loadEdge((t) => fresh.read(t), S, root, true))).toBe(
        edgeText(store.edge),
      );
      // Proofs are checked in full by test/merkle; here, for a sample of sizes, that the source
      // feeds them the right hashes.
      const proofs = S % 7 === 0 || [255, 256, 257, 511, 512, 513].includes(S);
      for (const s of new Set([S, S - 1, (S * 37) % (S + 1)])) {
        if (s < 0) continue;
        const tiles = tilesOf(s);
        const got = await source.read(tiles);
        tiles.forEach((t, i) =>
          expect(same(got[i], refTile(t)), `${tilePath(t)} at ${s} of ${S}`).toBe(true),
        );
        expect(await readTreeHash(source.fetchHashes, s)).toEqual(refHash(0, s));
        if (s === 0 || !proofs) continue;
        const index = (S * 13) % s;
        expect((await proveInclusion(source.fetchHashes, index, s)).map(toHex)).toEqual(
          path(index, ENTRY.slice(0, s)).map(toHex),
        );
        const older = 1 + ((S * 7) % s);
        expect((await proveConsistency(source.fetchHashes, older, s)).map(toHex)).toEqual(
          older === s ? [] : proof(older, ENTRY.slice(0, s)).map(toHex),
        );
      }
      expect(source.bytes).toBeLessThanOrEqual(capacity);
      // A tile wider than the tree is null, read with no I/O.
      const before = store.fetches.length;
      expect(
        await source.read([{ level: 0, n: Math.floor(S / 256), width: (S % 256) + 1 }]),
      ).toEqual([null]);
      expect(store.fetches.length).toBe(before);
    }
  });
});

describe('TileSource over a remote log (no size), every size 0..600', () => {
  it('reads the exact path, falls back to the full tile, and answers null when neither is served', async () => {
    // Every object ever written, then a deterministic half of the partial tiles deleted.
    const store = new PrunedStore();
    const all = new Map<string, Uint8Array>();
    for (let S = 1; S <= N; S++) {
      store.append(1);
      for (const t of tilesOf(S))
        all.set(tilePath(t), store.objects.get(tilePath(t)) ?? all.get(tilePath(t))!);
    }
    let k = 0;
    for (const p of [...all.keys()]) if (p.includes('.p/') && k++ % 2 === 0) all.delete(p);
    let batches = 0;
    const source = new TileSource({
      fetch: async (paths) => {
        batches++;
        return paths.map((p) => all.get(p) ?? null);
      },
      capacityBytes: 100_000,
    });
    for (let s = 0; s <= N; s++) {
      const tiles = tilesOf(s);
      batches = 0;
      const got = await source.read(tiles);
      expect(batches).toBeLessThanOrEqual(2); // one round for the exact paths, one for fallbacks
      tiles.forEach((t, i) => {
        const served = all.has(tilePath(t)) || all.has(tilePath({ ...t, width: TILE_WIDTH }));
        expect(same(got[i], served ? refTile(t) : null), tilePath(t)).toBe(true);
      });
    }
  });
});

describe('TileSource behaviour', () => {
  const tile = (n: number, width = 256): Tile => ({ level: 0, n, width });
  const bytes = (n: number, width = 256) => new Uint8Array(width * 32).fill(n + 1);

  it('keeps the cache within its byte bound, evicting the least recently used', async () => {
    const fetched: string[] = [];
    const source = new TileSource({
      fetch: async (paths) => {
        fetched.push(...paths);
        return paths.map((p) => bytes(Number(p.slice(-3))));
      },
      capacityBytes: 3 * (2 * 8192 + 10),
    });
    await source.read([tile(0), tile(1), tile(2)]);
    expect(source.bytes).toBeLessThanOrEqual(3 * (2 * 8192 + 10));
    await source.read([tile(0)]); // now 1 is the least recently used
    await source.read([tile(3)]);
    expect(source.peek(tile(1))).toBeUndefined();
    expect(source.peek(tile(0))).toEqual(bytes(0));
    expect(fetched).toEqual(['tile/0/000', 'tile/0/001', 'tile/0/002', 'tile/0/003']);
    // An object over the whole bound is served but never kept.
    const tiny = new TileSource({ fetch: async (p) => p.map(() => bytes(0)), capacityBytes: 100 });
    expect(await tiny.read([tile(0)])).toEqual([bytes(0)]);
    expect(tiny.bytes).toBe(0);
  });

  it('with size: reads the newest version and cuts it, and looks again when a prune races the read', async () => {
    const objects = new Map<string, Uint8Array>([['tile/0/000.p/9', bytes(0, 9)]]);
    let size = 9;
    const seen: string[][] = [];
    const source = new TileSource({
      size: () => size,
      fetch: async (paths) => {
        seen.push([...paths]);
        return paths.map((p) => objects.get(p) ?? null);
      },
    });
    expect(await source.read([tile(0, 5)])).toEqual([bytes(0, 5)]);
    expect(seen).toEqual([['tile/0/000.p/9']]);
    // The tree grew to 12 and pruned .p/9 before the read: first attempt misses both candidates,
    // the second looks at the tree of the new size.
    seen.length = 0;
    objects.clear();
    objects.set('tile/0/000.p/12', bytes(0, 12));
    const racing = new TileSource({
      size: () => size,
      fetch: async (paths) => {
        seen.push([...paths]);
        size = 12;
        return paths.map((p) => objects.get(p) ?? null);
      },
    });
    size = 9;
    expect(await racing.read([tile(0, 7)])).toEqual([bytes(0, 7)]);
    expect(seen).toEqual([['tile/0/000.p/9'], ['tile/0/000'], ['tile/0/000.p/12']]);
    // The tile filled: the full one is the second candidate of the same attempt.
    objects.set('tile/0/000', bytes(0));
    size = 12;
    seen.length = 0;
    const filled = new TileSource({
      size: () => size,
      fetch: async (p) => (seen.push([...p]), p.map((x) => objects.get(x) ?? null)),
    });
    objects.delete('tile/0/000.p/12');
    expect(await filled.read([tile(0, 3)])).toEqual([bytes(0, 3)]);
    expect(seen).toEqual([['tile/0/000.p/12'], ['tile/0/000']]);
  });

  it('with size: a tile the tree holds but the store lost is corrupt; a wrong-length tile too', async () => {
    const source = new TileSource({ size: () => 300, fetch: async (p) => p.map(() => null) });
    await expect(source.read([tile(0)])).rejects.toMatchObject({ code: 'corrupt' });
    const short = new TileSource({ fetch: async (p) => p.map(() => new Uint8Array(31)) });
    await expect(short.read([tile(0)])).rejects.toThrow(/is 31 bytes/);
    await expect(short.read([tile(0)])).rejects.toBeInstanceOf(LogError);
  });

  it('without size: a tile neither path serves is null, and not_found to a proof', async () => {
    const source = new TileSource({ fetch: async (p) => p.map(() => null) });
    expect(await source.read([tile(0, 4)])).toEqual([null]);
    await expect(source.fetchHashes([tile(0, 4)])).rejects.toMatchObject({ code: 'not_found' });
  });

  it('primes committed tiles, so a later read of them or of an older width does no I/O', async () => {
    let calls = 0;
    const source = new TileSource({
      size: () => 20,
      fetch: async (p) => (calls++, p.map(() => null)),
    });
    const data = bytes(0, 20);
    source.prime([{ tile: tile(0, 20), path: 'tile/0/000.p/20', data }]);
    expect(await source.read([tile(0, 20), tile(0, 8)])).toEqual([data, data.subarray(0, 8 * 32)]);
    expect(calls).toBe(0);
  });
});

describe('TileSource primed commit by commit', () => {
  it('proves every entry of each commit, and older ones at older sizes, as the reference', async () => {
    // Each commit primes its partial tiles, which take over the inner hashes the proofs of the
    // commit before computed (TileHashes.widen). No store: everything comes from what was primed
    // (a proof at an older size cuts the narrower tile from the newest one).
    let size = 0;
    let edge: Edge = EMPTY_EDGE;
    const source = new TileSource({
      size: () => size,
      fetch: async (paths) => paths.map(() => null),
    });
    const check = async (i: number, s: number) => {
      const got = await proveInclusion(source.fetchHashes, i, s);
      const want = path(i, ENTRY.slice(0, s));
      expect(got.length === want.length && got.every((h, k) => equal(h, want[k]!))).toBe(true);
    };
    for (const count of [1, 2, 3, 5, 7, 11, 13, 30, 60, 100, 120, 130, 9, 70]) {
      const batch = ENTRY.slice(size, size + count);
      const r = appendToEdge(edge, batch, batch.map(leafHash));
      edge = r.edge;
      const before = size;
      size = edge.size;
      source.prime(r.writes);
      // The commit's entries (a spread of them for the large ones), and one at the size before.
      const step = Math.max(1, Math.floor(count / 8));
      for (let i = before; i < size; i += step) await check(i, size);
      await check(size - 1, size);
      if (before > 0) await check(Math.floor(before / 2), before);
    }
  });
});

describe('loadEdge', () => {
  it('rejects an edge that does not hash to the root, and a tile not served', async () => {
    const store = new PrunedStore();
    store.append(300);
    const read = (t: readonly Tile[]) => new TileSource({ fetch: store.fetch }).read(t);
    await expect(loadEdge(read, 300, refHash(0, 299))).rejects.toMatchObject({ code: 'corrupt' });
    store.objects.delete('tile/0/001.p/44');
    await expect(loadEdge(read, 300, refHash(0, 300))).rejects.toMatchObject({ code: 'not_found' });
    expect(await loadEdge(read, 0, refHash(0, 0))).toEqual(EMPTY_EDGE);
  });
});
