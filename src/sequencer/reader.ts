/**
 * Reads of a committed log: tiles and entry bundles as served (a partial tile for any size up to
 * the published one, derived by truncating the current tile when the exact one was pruned), and
 * proofs computed from tiles. Tiles are immutable for a given path, so a bounded LRU cache of them
 * is always coherent.
 */
import { LogError } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import type { LogStore } from '../storage/index.ts';
import {
  narrowTile,
  proveConsistency,
  proveInclusion,
  readTreeHash,
  type Tile,
  type TileFetcher,
  TileHashes,
  tilePath,
  tileWidth,
  type TileWrite,
} from '../tiles/index.ts';

interface Cached {
  readonly data: Uint8Array;
  hashes?: TileHashes;
}

/** TileReader serves tiles, bundles and proofs from a store, for sizes up to size(). */
export class TileReader {
  private readonly cache = new Map<string, Cached>();
  private readonly store: LogStore;
  private readonly size: () => number;
  private readonly capacityBytes: number;
  private bytes = 0;

  /** capacityBytes bounds the cache by size, not count: an entry bundle can be 256 times a tile. */
  constructor(store: LogStore, size: () => number, capacityBytes = 64 << 20) {
    this.store = store;
    this.size = size;
    this.capacityBytes = capacityBytes;
  }

  /** prime adds tiles that were just committed to the cache. */
  prime(writes: readonly TileWrite[]): void {
    for (const w of writes) this.remember(key(w.tile), { data: w.data });
  }

  /**
   * readTile returns the bytes of a tile or bundle as it is in a tree of the published size, or
   * null when that tile is not part of it (wider than the tree allows).
   */
  async readTile(t: Tile): Promise<Uint8Array | null> {
    const c = await this.readCached(t);
    return c ? c.data : null;
  }

  /** fetch is a TileFetcher over the published tree, for proofs. */
  readonly fetch: TileFetcher = async (tiles) => {
    const got = await Promise.all(tiles.map((t) => this.readCached(t)));
    return got.map((c, i) => {
      if (!c)
        throw new LogError('not_found', `sequencer: ${tilePath(tiles[i]!)} is beyond the tree`);
      return (c.hashes ??= new TileHashes(c.data));
    });
  };

  /** proveInclusion returns the inclusion proof of index in the tree of size (≤ published). */
  proveInclusion(index: number, size: number): Promise<Hash[]> {
    return proveInclusion(this.fetch, index, size);
  }

  /** treeHash returns the root of the tree of size (≤ published) computed from tiles. */
  treeHash(size: number): Promise<Hash> {
    return readTreeHash(this.fetch, size);
  }

  /** lookup reads a non-tile key (the dedup index) straight from the store. */
  lookup(key: string): Promise<Uint8Array | null> {
    return this.store.get(key);
  }

  /** proveConsistency returns the consistency proof between two sizes (≤ published). */
  proveConsistency(size1: number, size2: number): Promise<Hash[]> {
    return proveConsistency(this.fetch, size1, size2);
  }

  private async readCached(t: Tile): Promise<Cached | null> {
    const k = key(t);
    const hit = this.cache.get(k);
    if (hit) {
      this.remember(k, hit);
      return hit;
    }
    // The newest version of this tile always exists (full tiles and the current right edge are
    // never deleted); a commit may prune the one we chose in between, so look again once.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = tileWidth(t.level, t.n, this.size());
      if (t.width > now) return null;
      const current = { ...t, width: now };
      const data = this.cache.get(key(current))?.data ?? (await this.store.get(tilePath(current)));
      if (!data) continue;
      const c = { data: now === t.width ? data : narrowTile(current, data, t.width) };
      this.remember(k, c);
      return c;
    }
    throw new LogError('corrupt', `sequencer: ${tilePath(t)} is missing from storage`);
  }

  private remember(k: string, c: Cached): void {
    const old = this.cache.get(k);
    if (old) {
      this.cache.delete(k);
      this.bytes -= cost(old);
    }
    this.cache.set(k, c);
    this.bytes += cost(c);
    while (this.bytes > this.capacityBytes && this.cache.size > 1) {
      const [oldest, v] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      this.bytes -= cost(v);
    }
  }
}

// What a cached tile costs: its bytes, twice over to cover the inner hashes a hash tile may grow.
function cost(c: Cached): number {
  return c.data.length * 2;
}

// The cache key of a tile: cheaper than its path, which formats the index in groups.
function key(t: Tile): string {
  return `${t.level}/${t.n}/${t.width}`;
}
