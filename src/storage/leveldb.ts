/**
 * The LevelDB driver (`level`, classic-level underneath): the only file that imports it. A commit
 * is one LevelDB write batch, which LevelDB applies atomically through its write-ahead log, with
 * sync: true by default so that a resolved commit survives power loss. LevelDB holds an exclusive
 * LOCK file on the directory, so this process is the only writer and the compare-and-swap can be
 * checked against the lock cached in memory.
 */
import { Level } from 'level';

import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { Commit, LogStore } from './storage.ts';

// The lock lives outside the tlog-tiles key space ("checkpoint", "tile/…", "index/…").
const LOCK_KEY = '!lock';

/** LevelStoreOptions configures the LevelDB driver. */
export interface LevelStoreOptions {
  /** sync makes every commit wait for fsync (default true; false is for benchmarks only). */
  readonly sync?: boolean;
  /** writeBufferSize is LevelDB's memtable size in bytes (default LOG_WRITE_BUFFER). */
  readonly writeBufferSize?: number;
}

/**
 * LOG_WRITE_BUFFER is a log store's memtable size (LevelDB's default is 4 MiB). A commit of
 * 4,096 1 KiB entries is about 4 MiB, so at the default every commit filled the memtable: a
 * flush to a new level-0 table per commit, a compaction every few, and every dedup lookup of an
 * absent key probing several tables. LevelDB holds at most two memtables (one being flushed), and
 * its log replays at most this much on open.
 */
export const LOG_WRITE_BUFFER = 32 * 2 ** 20;

function unavailable(what: string, cause: unknown): LogError {
  return new LogError('unavailable', `storage: leveldb ${what} failed`, { cause });
}

// LevelDB hands out Buffers; the rest of tilelog sees plain Uint8Arrays (a view, not a copy).
function view(v: Uint8Array | undefined): Uint8Array | null {
  return v ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : null;
}

/** LevelStore is a log stored in one LevelDB directory. */
export class LevelStore implements LogStore {
  private readonly db: Level<string, Uint8Array>;
  private readonly sync: boolean;
  // undefined: not known (never read, or a commit failed and may or may not have applied).
  private lock: Uint8Array | null | undefined;
  // Commits run one at a time, so the compare and the swap cannot interleave with another commit.
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(db: Level<string, Uint8Array>, sync: boolean) {
    this.db = db;
    this.sync = sync;
  }

  /** open opens (creating if needed) the LevelDB directory at path. */
  static async open(path: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
    const db = new Level<string, Uint8Array>(path, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
      writeBufferSize: opts.writeBufferSize ?? LOG_WRITE_BUFFER,
    });
    try {
      await db.open();
    } catch (cause) {
      throw new LogError('unavailable', `storage: cannot open leveldb at ${path}`, { cause });
    }
    return new LevelStore(db, opts.sync ?? true);
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return view(await this.db.get(key));
    } catch (cause) {
      throw unavailable('get', cause);
    }
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    if (keys.length === 0) return [];
    try {
      return (await this.db.getMany(keys as string[])).map(view);
    } catch (cause) {
      throw unavailable('getMany', cause);
    }
  }

  async readLock(): Promise<Uint8Array | null> {
    if (this.lock === undefined) this.lock = await this.get(LOCK_KEY);
    return this.lock;
  }

  commit(c: Commit): Promise<void> {
    const run = this.queue.then(() => this.commitNow(c));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commitNow(c: Commit): Promise<void> {
    const lock = await this.readLock();
    const same = c.expected === null ? lock === null : lock !== null && equal(lock, c.expected);
    if (!same) throw new LogError('conflict', 'storage: lock changed since it was read');
    this.lock = undefined;
    try {
      await writeChained(this.db, c.objects, c.next, this.sync);
    } catch (cause) {
      throw unavailable('batch', cause);
    }
    this.lock = c.next.slice();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

// A chained batch: abstract-level's array form copies every operation with its options, three
// to four times the cost per operation (60,000 puts: 3.0 s against 0.9 s); both are atomic.
async function writeChained(
  db: Level<string, Uint8Array>,
  ops: readonly { key: string; value: Uint8Array | null }[],
  lock: Uint8Array | null,
  sync: boolean,
): Promise<void> {
  const b = db.batch();
  try {
    for (const e of ops)
      if (e.value === null) b.del(e.key);
      else b.put(e.key, e.value);
    if (lock !== null) b.put(LOCK_KEY, lock);
  } catch (e) {
    await b.close();
    throw e;
  }
  await b.write({ sync } as object);
}

/** LocalMap is a plain local key-value map on LevelDB, for state that is not part of the log. */
export interface LocalMap {
  get(key: string): Promise<Uint8Array | null>;
  getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]>;
  /** put writes all entries in one atomic batch; fsynced only when sync is set. */
  put(
    entries: readonly { key: string; value: Uint8Array }[],
    opts?: { sync?: boolean },
  ): Promise<void>;
  close(): Promise<void>;
}

/** OrderedLocalMap is a LocalMap that also deletes and lists keys in order (an outbox, a queue). */
export interface OrderedLocalMap extends LocalMap {
  /** apply writes puts and deletes (value null) in one atomic batch; fsynced only when sync is set. */
  apply(
    ops: readonly { key: string; value: Uint8Array | null }[],
    opts?: { sync?: boolean },
  ): Promise<void>;
  /** list returns the entries whose key starts with prefix, in key order (at most limit). */
  list(prefix: string, limit?: number): Promise<{ key: string; value: Uint8Array }[]>;
}

/**
 * openLocalMap opens (creating) a LocalMap at path. writeBufferSize is LevelDB's memtable size
 * (default 4 MiB): a map loaded in bulk wants a larger one (fewer level-0 files to compact).
 * cacheSize (block cache, default 8 MiB), maxOpenFiles (default 1,000; LevelDB maps each open
 * table file into memory, and keeps at least 64 open) and maxFileSize (a table's size, default
 * 2 MiB) bound what a large map holds in memory. compression (Snappy, default on) is wasted
 * work on values that are hashes.
 */
export async function openLocalMap(
  path: string,
  opts: {
    writeBufferSize?: number;
    cacheSize?: number;
    maxOpenFiles?: number;
    maxFileSize?: number;
    compression?: boolean;
  } = {},
): Promise<OrderedLocalMap> {
  const db = new Level<string, Uint8Array>(path, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
    ...opts,
  });
  try {
    await db.open();
  } catch (cause) {
    throw new LogError('unavailable', `storage: cannot open leveldb at ${path}`, { cause });
  }
  const write = (
    ops: readonly { key: string; value: Uint8Array | null }[],
    opts?: { sync?: boolean },
  ) => writeChained(db, ops, null, opts?.sync ?? false);
  return {
    get: async (key) => view(await db.get(key)),
    getMany: async (keys) => (keys.length ? (await db.getMany(keys as string[])).map(view) : []),
    put: write,
    apply: write,
    list: async (prefix, limit = -1) =>
      (await db.iterator({ gte: prefix, lt: prefix + '\uffff', limit }).all()).map(
        ([key, value]) => ({
          key,
          value: view(value)!,
        }),
      ),
    close: () => db.close(),
  };
}
