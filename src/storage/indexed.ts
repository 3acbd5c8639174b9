/**
 * IndexedStore keeps the dedup index (`index/<leaf hash>` keys) in a local LevelDB beside a
 * shared object store (S3), instead of one object per entry: a small conditional-PUT budget
 * cannot afford an object per entry. Owned by IndexedStore: the local index and its mark (how
 * many entries, from the first, it holds), and the snapshot writer's progress.
 *
 * Contract. The index is written after the commit lands, so it can miss entries (a crash in
 * between, or commits by another instance not seen yet) but never points at an entry that is not
 * in the log. readLock() makes it complete: before it returns, every entry below the lock's size
 * is indexed, or it throws 'unavailable' (a tile it needs is not readable yet) and the caller
 * must not commit on that lock. Since one sequencer commits at a time (the lease) and always
 * reloads through readLock() when it takes over or after an unknown outcome, its index is
 * authoritative: dedup is strong.
 *
 * Snapshot. A takeover must not read the whole log, so the index is also kept in the bucket as
 * immutable chunks: `dedup/<k>` holds the leaf hashes of entries [k·C, (k+1)·C) in order (C =
 * snapshotEntries, 65,536 by default: 2 MiB), written once, create-only, by whichever instance
 * commits past the end of the chunk. An instance catching up loads whole chunks it is missing
 * and reads only the level-0 tiles after the last chunk (the same leaf hashes the entry bundles
 * would give, at 32 bytes an entry). A chunk is derived data: a missing one is read from the
 * tiles instead, and a chunk of the wrong length is ignored.
 */
import { decodeUtf8, putU64be, readU64be, toHex, u64be } from '../bytes.ts';
import { assert, LogError } from '../errors.ts';
import { HASH_SIZE } from '../merkle/index.ts';
import { peekCheckpoint } from '../note/index.ts';
import { TILE_WIDTH, tileAt, tilePath } from '../tiles/index.ts';
import { type LocalMap, openLocalMap } from './leveldb.ts';
import type { Commit, LogStore, VersionedObjects } from './storage.ts';

const INDEX = 'index/';
const INDEXED = '!indexed'; // how many entries, from the first, are in the local index
const SNAPSHOT = 'dedup/';
const PARALLEL = 16;

function lockSize(lock: Uint8Array): number {
  const size = Number(peekCheckpoint(decodeUtf8(lock) ?? '').size);
  return Number.isSafeInteger(size) ? size : 0; // a migration marker or other non-checkpoint: nothing to index
}

/** snapshotKey is the key of snapshot chunk k. */
export function snapshotKey(k: number): string {
  return `${SNAPSHOT}${k}`;
}

// Chain is the index write in flight during a catch-up (see insert).
interface Chain {
  last: Promise<void>;
}

// indexOps returns the index keys of the leaf hashes in data (entries from `start`, skipping
// those below `from`) and the mark moved to its end. One hex conversion and one buffer of
// values per batch: per-key conversions and allocations were most of a cold takeover's CPU.
function indexOps(start: number, data: Uint8Array, from: number) {
  const n = data.length / HASH_SIZE;
  const first = Math.max(0, from - start);
  const hex = toHex(data.subarray(first * HASH_SIZE));
  const values = new Uint8Array((n - first) * 8);
  const ops: { key: string; value: Uint8Array }[] = [];
  for (let j = 0; j < n - first; j++) {
    putU64be(values, j * 8, start + first + j);
    const key = INDEX + hex.slice(j * 2 * HASH_SIZE, (j + 1) * 2 * HASH_SIZE);
    ops.push({ key, value: values.subarray(j * 8, j * 8 + 8) });
  }
  ops.push({ key: INDEXED, value: u64be(start + n) });
  return ops;
}

/** IndexedStoreOptions tune the snapshot (tests use small chunks). */
export interface IndexedStoreOptions {
  /** snapshotEntries is C, the entries per snapshot chunk: a multiple of 256 (default 65,536). */
  readonly snapshotEntries?: number;
}

/** IndexedStore routes the dedup index to a local LevelDB and everything else to objects. */
export class IndexedStore implements LogStore {
  private readonly objects: LogStore & Partial<VersionedObjects>;
  private readonly db: LocalMap;
  private readonly chunk: number;
  private snapshotted = 0; // chunks below this are known to be in the bucket
  private snapshotting: Promise<void> | null = null;
  private probed = false;

  private constructor(objects: LogStore, db: LocalMap, opts: IndexedStoreOptions) {
    this.objects = objects;
    this.db = db;
    this.chunk = opts.snapshotEntries ?? 65_536;
    assert(this.chunk > 0 && this.chunk % TILE_WIDTH === 0, 'snapshotEntries is a multiple of 256');
  }

  /** open opens (creating) the local index at path in front of objects. */
  static async open(
    objects: LogStore,
    path: string,
    opts: IndexedStoreOptions = {},
  ): Promise<IndexedStore> {
    // A cold takeover writes millions of keys in bulk: a 64 MiB memtable (not 4) keeps LevelDB
    // from stalling writes on level-0 compactions.
    const db = await openLocalMap(path, { writeBufferSize: 64 << 20 });
    return new IndexedStore(objects, db, opts);
  }

  async get(key: string): Promise<Uint8Array | null> {
    if (!key.startsWith(INDEX)) return this.objects.get(key);
    return this.db.get(key);
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    const local = keys.filter((k) => k.startsWith(INDEX));
    const remote = keys.filter((k) => !k.startsWith(INDEX));
    const [l, r] = await Promise.all([this.db.getMany(local), this.objects.getMany(remote)]);
    let i = 0;
    let j = 0;
    return keys.map((k) => (k.startsWith(INDEX) ? (l[i++] ?? null) : (r[j++] ?? null)));
  }

  async readLock(): Promise<Uint8Array | null> {
    const lock = await this.objects.readLock();
    if (lock) await this.catchUp(lockSize(lock));
    return lock;
  }

  async commit(c: Commit): Promise<void> {
    await this.objects.commit({ ...c, objects: c.objects.filter((o) => !o.key.startsWith(INDEX)) });
    // After the commit: an index entry must never point at an entry that is not in the log.
    const index = c.objects.filter((o) => o.key.startsWith(INDEX) && o.value !== null);
    const indexed = await this.indexedSize();
    const size = lockSize(c.next);
    const ops = index.map((o) => ({ key: o.key, value: o.value! }));
    // Only our own commits since the last catch-up are covered by these keys; if another writer
    // committed in between, leave the mark where it is and let catchUp() fill the gap.
    const contiguous = readU64be(index[0]?.value ?? new Uint8Array(0)) === indexed;
    if (contiguous) ops.push({ key: INDEXED, value: u64be(size) });
    await this.db.put(ops);
    if (Math.floor(size / this.chunk) > this.snapshotted) this.snapshotSoon(size);
  }

  // snapshots are kept only where the object store has create-only writes (S3).
  private get snapshots(): boolean {
    return this.objects.putIfVersion !== undefined && this.objects.versionOf !== undefined;
  }

  /** versioned is the object store's conditional single-object writes, where it has them (S3). */
  get versioned(): VersionedObjects | undefined {
    return this.snapshots ? (this.objects as LogStore & VersionedObjects) : undefined;
  }

  /** indexUpTo completes the local index below size from the snapshot and tiles (LogStore). */
  async indexUpTo(size: number): Promise<void> {
    if ((await this.indexedSize()) < size) await this.catchUp(size);
  }

  /** indexedSize is how many entries, from the first, the local index holds. */
  async indexedSize(): Promise<number> {
    const v = await this.db.get(INDEXED);
    return v ? (readU64be(v) ?? 0) : 0;
  }

  /** flushSnapshot waits for the snapshot writer started by the last commit (tests, shutdown). */
  async flushSnapshot(): Promise<void> {
    while (this.snapshotting) await this.snapshotting;
  }

  // catchUp indexes entries [mark, size): whole snapshot chunks where the bucket has them (a few
  // fetched ahead, so S3 and LevelDB work in parallel), level-0 tiles for the rest.
  private async catchUp(size: number): Promise<void> {
    const chain: Chain = { last: Promise.resolve() };
    try {
      await this.catchUpFrom(chain, await this.indexedSize(), size);
    } finally {
      await chain.last;
    }
  }

  private async catchUpFrom(chain: Chain, done: number, size: number): Promise<void> {
    const last = Math.floor(size / this.chunk); // chunks below last are complete
    const fetches = new Map<number, Promise<Uint8Array | null>>();
    const fetchChunk = (k: number) => {
      if (k < last && !fetches.has(k)) fetches.set(k, this.objects.get(snapshotKey(k)));
    };
    for (let k = Math.ceil(done / this.chunk); this.snapshots && k < last; k++) {
      if (done < k * this.chunk) await this.catchUpFromTiles(chain, done, k * this.chunk);
      for (let a = k; a < k + 4; a++) fetchChunk(a);
      const data = await fetches.get(k)!;
      fetches.delete(k);
      if (data && data.length === this.chunk * HASH_SIZE) {
        await this.insert(chain, k * this.chunk, data, k * this.chunk);
        this.snapshotted = Math.max(this.snapshotted, k + 1);
        done = (k + 1) * this.chunk;
      }
    }
    await this.catchUpFromTiles(chain, done, size);
  }

  // catchUpFromTiles indexes entries [done, size) from the level-0 tiles, PARALLEL at a time.
  private async catchUpFromTiles(chain: Chain, done: number, size: number): Promise<void> {
    while (done < size) {
      const n0 = Math.floor(done / TILE_WIDTH);
      const tiles = [];
      for (let n = n0; n < n0 + PARALLEL && n * TILE_WIDTH < size; n++)
        tiles.push(tileAt(0, n, size)!);
      const data = await this.objects.getMany(tiles.map(tilePath));
      for (let i = 0; i < tiles.length; i++) {
        const t = tiles[i]!;
        const d = data[i];
        if (!d || d.length !== t.width * HASH_SIZE)
          throw new LogError('unavailable', `storage: ${tilePath(t)} is not readable yet`);
        await this.insert(chain, t.n * TILE_WIDTH, d, done);
        done = t.n * TILE_WIDTH + t.width;
      }
    }
  }

  // insert indexes the leaf hashes in data (entries from `start`), skipping those below `from`,
  // and moves the mark to the end of data, in one atomic batch. The batch is built while the
  // one before it (chain.last) is being written, LevelDB working in its own thread, and written
  // only once that one has landed: batches land in order, and none is written after one that
  // failed, so the mark never claims the keys of a batch that is not there. It returns with its
  // own write in flight as chain.last.
  private async insert(chain: Chain, start: number, data: Uint8Array, from: number) {
    const ops = indexOps(start, data, from);
    await chain.last;
    chain.last = this.db.put(ops);
  }

  private snapshotSoon(size: number): void {
    if (this.snapshotting || !this.snapshots) return;
    this.snapshotting = this.writeSnapshot(size)
      .catch(() => undefined) // derived data: the next commit past a boundary tries again
      .finally(() => (this.snapshotting = null));
  }

  // writeSnapshot writes every complete chunk not yet in the bucket, from the level-0 tiles.
  // Chunks are written in order, so those in the bucket are a prefix: a fresh writer finds its
  // end with a binary search of HEAD requests rather than reading every chunk.
  private async writeSnapshot(size: number): Promise<void> {
    const last = Math.floor(size / this.chunk);
    if (!this.probed) {
      let [lo, hi] = [this.snapshotted, last]; // lo: known present below; hi: first maybe-missing
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if ((await this.objects.versionOf!(snapshotKey(mid))) !== null) lo = mid + 1;
        else hi = mid;
      }
      this.snapshotted = lo;
      this.probed = true;
    }
    const perChunk = this.chunk / TILE_WIDTH;
    for (let k = this.snapshotted; k < last; k++) {
      const paths = [];
      for (let n = k * perChunk; n < (k + 1) * perChunk; n++)
        paths.push(tilePath({ level: 0, n, width: TILE_WIDTH }));
      const tiles = await this.objects.getMany(paths);
      if (tiles.some((t) => !t || t.length !== TILE_WIDTH * HASH_SIZE)) return;
      const data = new Uint8Array(this.chunk * HASH_SIZE);
      tiles.forEach((t, i) => data.set(t!, i * TILE_WIDTH * HASH_SIZE));
      try {
        await this.objects.putIfVersion!(snapshotKey(k), data, null);
      } catch (err) {
        // Someone else wrote it first (create-only): the same bytes, derived from the same tiles.
        if (!(err instanceof LogError && err.code === 'conflict')) throw err;
      }
      this.snapshotted = k + 1;
    }
  }

  async close(): Promise<void> {
    await this.flushSnapshot();
    await this.objects.close();
    await this.db.close();
  }
}
