/**
 * Reads of a committed log: tiles and entry bundles as served (a partial tile for any size up to
 * the integrated one, cut from the current tile when the exact one was pruned), and proofs
 * computed from tiles. All of it goes through one TileSource over the store (tiles/source.ts),
 * whose byte-bounded cache is always coherent because a tile path's bytes never change.
 */
import type { Hash } from '../merkle/index.ts';
import type { LogStore } from '../storage/index.ts';
import {
  DEFAULT_CACHE_BYTES,
  proveConsistency,
  proveInclusion,
  readTreeHash,
  type Tile,
  TileSource,
  type TileWrite,
} from '../tiles/index.ts';

// The most kept proofs (keepProof): a forward answer's proofs are asked for within moments, unless
// their submitter went away first.
const MAX_KEPT = 65_536;

/** TileReader serves tiles, bundles and proofs from a store, for sizes up to size(). */
export class TileReader {
  private readonly store: LogStore;
  private readonly source: TileSource;
  // Reads in flight by path. A new checkpoint answers many submitters at once, and each proof
  // misses the cache on the same new partial tiles: a frontend (whose cache no commit primes)
  // made one S3 GET per tile per answer, which cost most of its CPU. One read serves them all.
  private readonly reading = new Map<string, Promise<Uint8Array | null>>();
  // Inclusion proofs by "index/size" that a frontend's sequencer sent with a forward answer, each
  // checked against that checkpoint; taken by the first proveInclusion that asks (the answer).
  private readonly proofs = new Map<string, readonly Hash[]>();

  /** capacityBytes bounds the cache by size, not count: an entry bundle can be 256 times a tile. */
  constructor(store: LogStore, size: () => number, capacityBytes = DEFAULT_CACHE_BYTES) {
    this.store = store;
    this.source = new TileSource({ fetch: (paths) => this.fetch(paths), size, capacityBytes });
  }

  // fetch reads paths through the store, joining any read of the same path already in flight.
  private fetch(paths: readonly string[]): Promise<(Uint8Array | null)[]> {
    const fresh = paths.filter((p, i) => !this.reading.has(p) && paths.indexOf(p) === i);
    if (fresh.length > 0) {
      const batch = this.store.getMany(fresh);
      fresh.forEach((p, i) => {
        const one = batch.then((all) => all[i]!);
        this.reading.set(p, one);
        // Forget it once settled (the cache keeps the bytes); a failed read is not remembered.
        const forget = () => {
          if (this.reading.get(p) === one) this.reading.delete(p);
        };
        one.then(forget, forget);
      });
    }
    return Promise.all(paths.map((p) => this.reading.get(p)!));
  }

  /** prime adds tiles that were just committed to the cache. */
  prime(writes: readonly TileWrite[]): void {
    this.source.prime(writes);
  }

  /** cached returns a tile's bytes when the cache holds them, with no I/O (the fast read path). */
  cached(t: Tile): Uint8Array | undefined {
    return this.source.peek(t);
  }

  /**
   * readTile returns the bytes of a tile or bundle as it is in a tree of the integrated size, or
   * null when that tile is not part of it (wider than the tree allows).
   */
  async readTile(t: Tile): Promise<Uint8Array | null> {
    const [data] = await this.source.read([t]);
    return data!;
  }

  /** proveInclusion returns the inclusion proof of index in the tree of size (≤ integrated). */
  proveInclusion(index: number, size: number): Promise<Hash[]> {
    const key = `${index}/${size}`;
    const kept = this.proofs.get(key);
    if (kept) {
      this.proofs.delete(key);
      return Promise.resolve([...kept]);
    }
    return proveInclusion(this.source.fetchHashes, index, size);
  }

  /**
   * keepProof holds a verified inclusion proof of index in the tree of size for the next
   * proveInclusion of the same pair (a forward answer's proof for the submitter's answer). A proof
   * never changes, so one kept is never stale; the oldest are dropped past MAX_KEPT.
   */
  keepProof(index: number, size: number, hashes: readonly Hash[]): void {
    this.proofs.set(`${index}/${size}`, hashes);
    if (this.proofs.size > MAX_KEPT) this.proofs.delete(this.proofs.keys().next().value!);
  }

  /** treeHash returns the root of the tree of size (≤ integrated) computed from tiles. */
  treeHash(size: number): Promise<Hash> {
    return readTreeHash(this.source.fetchHashes, size);
  }

  /** lookup reads a non-tile key (the dedup index) straight from the store. */
  lookup(key: string): Promise<Uint8Array | null> {
    return this.store.get(key);
  }

  /** proveConsistency returns the consistency proof between two sizes (≤ integrated). */
  proveConsistency(size1: number, size2: number): Promise<Hash[]> {
    return proveConsistency(this.source.fetchHashes, size1, size2);
  }
}
