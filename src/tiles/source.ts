/**
 * TileSource: the one cached read side of a tiled tree, used by the sequencer's reader, the HTTP
 * client, migrate and rebuild. I/O is injected as one batch fetch by path (a store's getMany, or
 * parallel HTTP GETs); the cache is bounded in bytes, evicts about the least recently used (the
 * clock algorithm) and is coherent because a tlog-tiles path's bytes never change. A tile of an
 * older tree size is a prefix of the current one, so it is cut from whichever version is stored
 * (tlog-tiles, "Partial Tiles": logs may delete a partial tile once the full tile exists, and
 * clients fall back to the full one).
 */
import { LogError } from '../errors.ts';
import { narrowTile } from './bundle.ts';
import type { TileWrite } from './edge.ts';
import { TileHashes } from './hashes.ts';
import type { TileFetcher } from './reader.ts';
import { ENTRIES, type Tile, TILE_WIDTH, tilePath, tileWidth } from './tile.ts';

/**
 * FetchObjects reads objects by tlog-tiles path in one batch: the bytes of each, in order, or
 * null for one that does not exist. It throws only when the read itself fails.
 */
export type FetchObjects = (paths: readonly string[]) => Promise<(Uint8Array | null)[]>;

/** TileSourceOptions configures a TileSource. */
export interface TileSourceOptions {
  /** fetch reads objects by path in one batch. */
  readonly fetch: FetchObjects;
  /** capacityBytes bounds the cache (default 64 MiB); an object larger than it is not kept. */
  readonly capacityBytes?: number;
  /**
   * size, when the objects are a log's own store, returns the size of the tree they hold now.
   * A tile is then read from its newest version (the full tile, or the partial tile of that
   * size: older partial tiles may be pruned), a tile wider than that tree is null, and a tile
   * the tree holds but the store does not is corrupt. Without size (a remote log) the exact path
   * is read, and a partial tile that is gone falls back to the full one.
   */
  readonly size?: () => number;
}

interface Cached {
  readonly data: Uint8Array;
  // Read since it was inserted or last given a second chance (the eviction order, see remember).
  hit?: boolean;
  // The inner subtree hashes of a hash tile, computed when a proof first needs them.
  hashes?: TileHashes;
}

/** DEFAULT_CACHE_BYTES is the default bound of a TileSource's cache. */
export const DEFAULT_CACHE_BYTES = 64 << 20;

/** TileSource reads tiles and entry bundles through a byte-bounded cache; see above. */
export class TileSource {
  private readonly fetchObjects: FetchObjects;
  private readonly capacity: number;
  private readonly size: (() => number) | undefined;
  // Insertion order is the eviction order, LRU as the clock algorithm approximates it: a hit only
  // marks the entry, and eviction moves a marked entry to the end instead of dropping it.
  private readonly cache = new Map<string, Cached>();
  private used = 0;
  // The newest partial hash tile primed at each level, by "level/n" (prime).
  private readonly growing = new Map<string, Cached>();

  constructor(opts: TileSourceOptions) {
    this.fetchObjects = opts.fetch;
    this.capacity = opts.capacityBytes ?? DEFAULT_CACHE_BYTES;
    this.size = opts.size;
  }

  /** bytes is what the cache holds now, as counted against its capacity. */
  get bytes(): number {
    return this.used;
  }

  /** peek returns a tile's bytes if the cache holds them, without any I/O. */
  peek(t: Tile): Uint8Array | undefined {
    const hit = this.cache.get(key(t));
    if (hit) hit.hit = true;
    return hit?.data;
  }

  /**
   * prime adds tiles that were just written (a commit) to the cache. A hash tile that grew
   * takes over the inner hashes proofs computed on its previous version (TileHashes.widen): each
   * commit writes new partial tiles, and the answers to its entries need their inner hashes.
   */
  prime(writes: readonly TileWrite[]): void {
    for (const w of writes) {
      const c: Cached = { data: w.data };
      if (w.tile.level !== ENTRIES) {
        const at = `${w.tile.level}/${w.tile.n}`;
        const before = this.growing.get(at);
        if (before?.hashes && before.data.length <= w.data.length)
          c.hashes = before.hashes.widen(w.data);
        // One growing tile per level: the newest one, until it is full.
        if (!before)
          for (const k of this.growing.keys())
            if (k.startsWith(`${w.tile.level}/`)) this.growing.delete(k);
        if (w.tile.width < TILE_WIDTH) this.growing.set(at, c);
        else this.growing.delete(at);
      }
      this.remember(key(w.tile), c);
    }
  }

  /**
   * read returns the bytes of each tile at its width, in order, with one batched fetch per
   * fallback round: null for a tile beyond the tree (with size) or not served (without).
   */
  async read(tiles: readonly Tile[]): Promise<(Uint8Array | null)[]> {
    return (await this.readCached(tiles)).map((c) => (c ? c.data : null));
  }

  /** fetchHashes is a TileFetcher over this source: proofs and tree hashes computed from tiles. */
  readonly fetchHashes: TileFetcher = (tiles) => {
    const hashes = (c: Cached | null, i: number) => {
      if (!c) {
        const why = this.size ? 'is beyond the tree' : 'is not served';
        throw new LogError('not_found', `tiles: ${tilePath(tiles[i]!)} ${why}`);
      }
      return (c.hashes ??= new TileHashes(c.data));
    };
    // All cached (a write's proof, from the tiles its commit primed): answered at once.
    const hits = this.cachedAll(tiles);
    if (hits) return hits.map(hashes);
    return this.readCached(tiles).then((got) => got.map(hashes));
  };

  // cachedAll returns the cached tiles, marked as used, if every one is cached; else null.
  private cachedAll(tiles: readonly Tile[]): Cached[] | null {
    const hits: Cached[] = [];
    for (const t of tiles) {
      const hit = this.cache.get(key(t));
      if (!hit) return null;
      hits.push(hit);
    }
    for (const hit of hits) hit.hit = true;
    return hits;
  }

  private async readCached(tiles: readonly Tile[]): Promise<(Cached | null)[]> {
    const out: (Cached | null | undefined)[] = tiles.map((t) => {
      const hit = this.cache.get(key(t));
      if (hit) hit.hit = true;
      return hit;
    });
    // With size, a prune racing the read removes the version we chose: look again at the newer
    // tree (its newest tiles always exist). Without size there is nothing newer to look at.
    for (let attempt = 0; attempt < 3; attempt++) {
      const missing: number[] = [];
      for (let i = 0; i < out.length; i++) if (out[i] === undefined) missing.push(i);
      if (missing.length === 0) return out as (Cached | null)[];
      const at = this.size?.();
      await this.fetchRound(tiles, missing, at, out);
      if (at === undefined || this.size!() === at) break;
    }
    return out.map((c, i) => {
      if (c !== undefined) return c;
      if (this.size === undefined) return null;
      throw new LogError('corrupt', `tiles: ${tilePath(tiles[i]!)} is missing from storage`);
    });
  }

  // One attempt: try each missing tile's candidates in turn, one batched fetch per round.
  private async fetchRound(
    tiles: readonly Tile[],
    missing: readonly number[],
    size: number | undefined,
    out: (Cached | null | undefined)[],
  ): Promise<void> {
    const plans = new Map<number, Tile[]>();
    for (const i of missing) {
      const cands = candidates(tiles[i]!, size);
      if (cands === null) out[i] = null;
      else plans.set(i, cands);
    }
    for (let round = 0; plans.size > 0; round++) {
      // found: this round's candidates by key, from the cache now (remembering the tiles of
      // this round may evict them below) or from one batched fetch.
      const found = new Map<string, Uint8Array>();
      const want = new Map<string, Tile>();
      for (const [i, cands] of plans) {
        const c = cands[round];
        if (c === undefined) {
          plans.delete(i);
          continue;
        }
        const hit = this.cache.get(key(c))?.data;
        if (hit) found.set(key(c), hit);
        else want.set(tilePath(c), c);
      }
      if (plans.size === 0) return;
      const paths = [...want.keys()];
      const got = paths.length > 0 ? await this.fetchObjects(paths) : [];
      paths.forEach((p, j) => {
        const d = got[j];
        if (d) found.set(key(want.get(p)!), checked(want.get(p)!, d));
      });
      for (const [i, cands] of plans) {
        const c = cands[round]!;
        const data = found.get(key(c));
        if (!data) continue;
        plans.delete(i);
        const t = tiles[i]!;
        // A concurrent read may have cached this tile meanwhile (same path, same bytes): share
        // its entry, so the inner hashes proofs compute on it are computed once, not per reader.
        const mine: Cached = this.cache.get(key(t)) ?? {
          data: c.width === t.width ? data : narrowTile(c, data, t.width),
        };
        out[i] = mine;
        this.remember(key(t), mine);
      }
    }
  }

  private remember(k: string, c: Cached): void {
    const old = this.cache.get(k);
    if (old) {
      this.cache.delete(k);
      this.used -= cost(k, old);
    }
    if (cost(k, c) > this.capacity) return;
    this.cache.set(k, c);
    this.used += cost(k, c);
    // The clock algorithm: an entry read since its last pass goes to the end with its mark
    // cleared (a second chance), the first unmarked one is dropped. A hit costs a flag, not the
    // delete and insert that moving it would (a proof reads about three tiles, a hit each).
    while (this.used > this.capacity) {
      const [oldest, v] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      if (v.hit) {
        v.hit = false;
        this.cache.set(oldest, v);
      } else this.used -= cost(oldest, v);
    }
  }
}

/**
 * candidates lists where tile t may be stored, in the order to try them, or null when it is
 * wider than the tree of size. With the tree's size: its newest version (the partial tile of
 * that size, or the full tile), then the full tile (the tree may have grown and pruned that
 * partial since size was read). Without: the exact path, then for a partial tile the full one.
 */
function candidates(t: Tile, size: number | undefined): Tile[] | null {
  const full = { ...t, width: TILE_WIDTH };
  if (size === undefined) return t.width < TILE_WIDTH ? [t, full] : [t];
  const now = tileWidth(t.level, t.n, size);
  if (t.width > now) return null;
  return now < TILE_WIDTH ? [{ ...t, width: now }, full] : [full];
}

// A hash tile of the wrong length is corrupt data (from a store or an untrusted server), not a
// bug; entry bundles are checked where they are decoded.
function checked(t: Tile, data: Uint8Array): Uint8Array {
  if (t.level !== ENTRIES && data.length !== t.width * 32)
    throw new LogError('corrupt', `tiles: ${tilePath(t)} is ${data.length} bytes`);
  return data;
}

// What a cached object costs: its bytes, and for a hash tile as much again for the inner
// hashes a proof may compute (fewer than its width), plus the key.
function cost(k: string, c: Cached): number {
  const inner = k.startsWith('-') ? 0 : c.data.length;
  return c.data.length + inner + k.length;
}

// The cache key of a tile: cheaper than its path, which formats the index in groups. Entry
// bundles (level -1) are the keys that start with '-'.
function key(t: Tile): string {
  return `${t.level}/${t.n}/${t.width}`;
}
