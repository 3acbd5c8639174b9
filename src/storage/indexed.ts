/**
 * IndexedStore keeps the dedup index (`index/<leaf hash>` keys) in a local LevelDB beside a
 * shared object store (S3), instead of one object per entry: a small conditional-PUT budget
 * cannot afford an object per entry. The trade, stated in the contract below, is that the index
 * is not written atomically with the commit: it is written after the commit lands, so it can
 * miss entries (a crash in between, or another writer's commits not yet seen) but never points
 * at an entry that is not in the log. Dedup is therefore best-effort, strong again once
 * readLock() has caught up: it indexes every entry bundle between what it has indexed and the
 * lock's size, its own commits and other writers' alike.
 */
import { decodeUtf8, readU64be, toHex, u64be } from '../bytes.ts';
import { leafHash } from '../merkle/index.ts';
import { decodeBundle, ENTRIES, TILE_WIDTH, tileAt, tilePath } from '../tiles/index.ts';
import { type LocalMap, openLocalMap } from './leveldb.ts';
import type { Commit, LogStore } from './storage.ts';

const INDEX = 'index/';
const INDEXED = '!indexed'; // how many entries, from the first, are in the local index

function lockSize(lock: Uint8Array): number {
  const size = Number((decodeUtf8(lock) ?? '').split('\n')[1]);
  return Number.isSafeInteger(size) ? size : 0; // a migration marker or other non-checkpoint: nothing to index
}

/** IndexedStore routes the dedup index to a local LevelDB and everything else to objects. */
export class IndexedStore implements LogStore {
  private readonly objects: LogStore;
  private readonly db: LocalMap;

  private constructor(objects: LogStore, db: LocalMap) {
    this.objects = objects;
    this.db = db;
  }

  /** open opens (creating) the local index at path in front of objects. */
  static async open(objects: LogStore, path: string): Promise<IndexedStore> {
    return new IndexedStore(objects, await openLocalMap(path));
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
  }

  private async indexedSize(): Promise<number> {
    const v = await this.db.get(INDEXED);
    return v ? (readU64be(v) ?? 0) : 0;
  }

  // catchUp indexes the entry bundles between the local mark and size.
  private async catchUp(size: number): Promise<void> {
    let done = await this.indexedSize();
    while (done < size) {
      const n = Math.floor(done / TILE_WIDTH);
      const tile = tileAt(ENTRIES, n, size)!;
      const data = await this.objects.get(tilePath(tile));
      if (!data) return; // not visible yet; try again at the next readLock()
      const entries = decodeBundle(data, tile.width);
      const ops = [];
      for (let i = done - n * TILE_WIDTH; i < entries.length; i++) {
        ops.push({ key: INDEX + toHex(leafHash(entries[i]!)), value: u64be(n * TILE_WIDTH + i) });
      }
      done = n * TILE_WIDTH + entries.length;
      ops.push({ key: INDEXED, value: u64be(done) });
      await this.db.put(ops);
    }
  }

  async close(): Promise<void> {
    await this.objects.close();
    await this.db.close();
  }
}
