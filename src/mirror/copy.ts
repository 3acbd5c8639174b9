/**
 * One mirrored log's copy and update state (C2SP tlog-mirror, "Updating a Mirror"), in the
 * engine's own LogStore (LevelDB, or S3), laid out as the log itself is (tlog-tiles paths), so
 * the read path that serves a log serves the copy:
 *
 * - the lock and `checkpoint` hold the *mirror checkpoint*: the log's checkpoint with its
 *   verified log signatures and the mirror's cosignatures; before the first one, the lock is a
 *   marker that no log key can have signed;
 * - `mirror/pending` holds the recent *pending checkpoints* (JSON array of notes, newest last);
 * - `mirror/next` holds the *next entry* and the root of the entries below it: the pending
 *   entries are committed as entry bundles and tiles as soon as they are authenticated (the
 *   spec's "same underlying storage"), and every tile that exists belongs to that tree.
 *
 * Every change is one LogStore commit (atomic and durable) made under this copy's lock; the
 * lock's bytes change only when the mirror checkpoint does. A crash anywhere leaves a state that
 * open() loads: the next entry and its edge are checked against their recorded root.
 *
 * Owned by MirrorCopy: the loaded state (mirror checkpoint, pending list, edge) and the lock.
 */
import { decodeUtf8, fromBase64, toBase64, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import {
  balancedRoot,
  checkSubtreeConsistency,
  EMPTY_ROOT,
  foldRight,
  type Hash,
  HASH_SIZE,
  leafHash,
} from '../merkle/index.ts';
import { type Checkpoint, openNote, parseCheckpoint } from '../note/index.ts';
import { CHECKPOINT_KEY, type LogStore } from '../storage/index.ts';
import {
  appendToEdge,
  type Edge,
  edgeRoot,
  edgeTiles,
  loadEdge,
  tilePath,
  TileSource,
} from '../tiles/index.ts';
import type { Recorded, WitnessedLog } from '../witness/index.ts';
import type { PackageRange } from './body.ts';

/** MARKER is the lock of a copy with no mirror checkpoint yet. */
export const MARKER = utf8('tilelog mirror: no mirror checkpoint yet\n');
/** PENDING_KEY and NEXT_KEY are where a copy keeps its update state (see above). */
export const PENDING_KEY = 'mirror/pending';
export const NEXT_KEY = 'mirror/next';
/** PENDING_KEPT is how many recent pending checkpoints are accepted as upload_end. */
export const PENDING_KEPT = 16;

/** Signed is a checkpoint note (log signatures only, or with the mirror's) and its checkpoint. */
export interface Signed {
  readonly note: string;
  readonly checkpoint: Checkpoint;
}

/** MirrorCopy is one origin's copy; see above. */
export class MirrorCopy {
  readonly log: WitnessedLog;
  private readonly store: LogStore;
  private lockBytes: Uint8Array;
  private mirroredCp: Signed | null;
  private pendingList: Signed[];
  private edgeNow: Edge;
  private readonly source: TileSource;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(store: LogStore, log: WitnessedLog, lock: Uint8Array) {
    this.store = store;
    this.log = log;
    this.lockBytes = lock;
    this.mirroredCp = null;
    this.pendingList = [];
    this.edgeNow = { size: 0, levels: [], bundle: [] };
    // Reads of the copy's own tree: every tile of the pending edge's size is stored.
    this.source = new TileSource({ fetch: (p) => store.getMany(p), size: () => this.edgeNow.size });
  }

  /** open loads (or starts) the copy of log kept in store, checking its state. */
  static async open(store: LogStore, log: WitnessedLog): Promise<MirrorCopy> {
    let lock = await store.readLock();
    if (lock === null) {
      await store.commit({ expected: null, next: MARKER, objects: [] });
      lock = MARKER;
    }
    const c = new MirrorCopy(store, log, lock);
    const isMarker = decodeUtf8(lock) === decodeUtf8(MARKER);
    c.mirroredCp = isMarker ? null : c.opened(decodeUtf8(lock) ?? '', 'the lock');
    const pending = await store.get(PENDING_KEY);
    if (pending) {
      const notes: unknown = JSON.parse(decodeUtf8(pending) ?? 'null');
      if (!Array.isArray(notes) || !notes.every((n) => typeof n === 'string'))
        throw new LogError('corrupt', `mirror: ${PENDING_KEY} of ${log.origin} is malformed`);
      c.pendingList = notes.map((n: string) => c.opened(n, PENDING_KEY));
    }
    const next = await store.get(NEXT_KEY);
    let size = c.mirroredCp?.checkpoint.size ?? 0;
    let root = c.mirroredCp?.checkpoint.root ?? EMPTY_ROOT;
    if (next) {
      const m = /^(0|[1-9][0-9]{0,15})\n([A-Za-z0-9+/=]{44})\n$/.exec(decodeUtf8(next) ?? '');
      const r = m && fromBase64(m[2]!);
      if (!m || !r || r.length !== HASH_SIZE)
        throw new LogError('corrupt', `mirror: ${NEXT_KEY} of ${log.origin} is malformed`);
      size = Number(m[1]);
      root = r;
    }
    c.edgeNow = { size, levels: [], bundle: [] }; // the source reads at this size
    c.edgeNow = await loadEdge((t) => c.source.read(t), size, root, true);
    return c;
  }

  // opened verifies a stored note with the log's keys (it was verified before it was stored).
  private opened(note: string, where: string): Signed {
    try {
      const checkpoint = parseCheckpoint(openNote(note, this.log.verifiers).text);
      if (checkpoint.origin !== this.log.origin) throw new Error('another origin');
      return { note, checkpoint };
    } catch (cause) {
      throw new LogError('corrupt', `mirror: ${where} of ${this.log.origin} is not its`, { cause });
    }
  }

  /** mirrored is the mirror checkpoint, or null before the first one. */
  get mirrored(): Signed | null {
    return this.mirroredCp;
  }

  /** next is the mirror's next entry: every entry below it is stored and authenticated. */
  get next(): number {
    return this.edgeNow.size;
  }

  /** latest is the latest pending checkpoint, or null if the log never sent one. */
  get latest(): Signed | null {
    return this.pendingList[this.pendingList.length - 1] ?? null;
  }

  /** recorded is the tree add-checkpoint checks against: the latest pending checkpoint. */
  recorded(): Recorded {
    const cp = this.latest?.checkpoint;
    return cp ? { size: cp.size, root: cp.root } : { size: 0, root: EMPTY_ROOT };
  }

  /**
   * checkpointAt returns the pending checkpoint (or the mirror checkpoint) of size, if the copy
   * knows one: the checkpoints add-entries accepts as upload_end.
   */
  checkpointAt(size: number): Signed | undefined {
    const m = this.mirroredCp;
    if (m && m.checkpoint.size === size) return m;
    return this.pendingList.find((p) => p.checkpoint.size === size);
  }

  /** serialized runs f after every earlier change to this copy has finished. */
  serialized<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * setPending durably makes signed the latest pending checkpoint (the caller checked it against
   * recorded() under serialized()). Pending checkpoints below the mirror checkpoint are dropped.
   */
  async setPending(signed: Signed): Promise<void> {
    const floor = this.mirroredCp?.checkpoint.size ?? 0;
    const size = signed.checkpoint.size;
    const kept = this.pendingList.filter(
      (p) => p.checkpoint.size !== size && p.checkpoint.size >= floor,
    );
    const list = [...kept, signed].slice(-PENDING_KEPT);
    const value = utf8(JSON.stringify(list.map((p) => p.note)));
    await this.commit([{ key: PENDING_KEY, value }]);
    this.pendingList = list;
  }

  /**
   * addPackage authenticates one entry package against target (tlog-mirror, "Processing"): the
   * subtree [base, end) is hashed from the entries already stored below the next entry and the
   * package's entries above it, and its consistency proof checked with target's root. Only then
   * are the new entries appended, in one commit with their tiles and the new next entry. It
   * returns why the package failed to verify, or null.
   */
  addPackage(
    r: PackageRange,
    entries: readonly Uint8Array[],
    proof: readonly Hash[],
    target: Checkpoint,
  ): Promise<string | null> {
    return this.serialized(async () => {
      const next = this.edgeNow.size;
      // Every request starts at or below the next entry, and its packages are in order.
      if (next < r.start)
        throw new LogError('conflict', `mirror: next entry ${next} is below package ${r.start}`);
      const have = Math.min(next, r.end);
      const stored = have > r.base ? await this.leafHashes(r.base, have) : [];
      const fresh = entries.slice(have - r.start);
      const freshHashes = fresh.map((e) => leafHash(e));
      try {
        const hash = rangeHash([...stored, ...freshHashes]);
        checkSubtreeConsistency(r.base, r.end, target.size, hash, target.root, proof);
      } catch (err) {
        if (!(err instanceof LogError)) throw err;
        return `package [${r.start}, ${r.end}): ${err.message}`;
      }
      if (fresh.length === 0) return null;
      const { edge, writes } = appendToEdge(this.edgeNow, fresh, freshHashes);
      const objects = writes.map((w) => ({ key: w.path, value: w.data }));
      objects.push({ key: NEXT_KEY, value: utf8(`${edge.size}\n${toBase64(edgeRoot(edge))}\n`) });
      await this.commit(objects);
      this.edgeNow = edge;
      this.source.prime(writes);
      return null;
    });
  }

  // leafHashes reads the stored leaf hashes [base, end), within one level-0 tile.
  private async leafHashes(base: number, end: number): Promise<Hash[]> {
    const n = base / 256;
    const width = Math.min(256, this.edgeNow.size - base);
    const [tile] = await this.source.read([{ level: 0, n, width }]);
    if (!tile) throw new LogError('corrupt', `mirror: level-0 tile ${n} is missing`);
    const out: Hash[] = [];
    for (let i = 0; i < end - base; i++)
      out.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    return out;
  }

  /**
   * commitCheckpoint makes note (target's note with the mirror's cosignatures) the mirror
   * checkpoint, after checking that the stored entries below its size hash to its root; the
   * partial tiles of that size are written with it, so the copy serves that tree.
   */
  async commitCheckpoint(note: string, target: Checkpoint): Promise<void> {
    const tiles = edgeTiles(target.size);
    const data = await this.source.read(tiles);
    // loadEdge checks the root: nothing is cosigned that the stored entries do not hash to.
    await loadEdge(async () => data, target.size, target.root, true);
    const objects = tiles.map((t, i) => ({ key: tilePath(t), value: data[i]! }));
    objects.push({ key: CHECKPOINT_KEY, value: utf8(note) });
    const next = utf8(note);
    await this.store.commit({ expected: this.lockBytes, next, objects });
    this.lockBytes = next;
    this.mirroredCp = { note, checkpoint: target };
    const floor = target.size;
    this.pendingList = this.pendingList.filter((p) => p.checkpoint.size >= floor);
  }

  // commit writes objects without changing the lock (compare-and-swap on it all the same).
  private commit(objects: { key: string; value: Uint8Array }[]): Promise<void> {
    return this.store.commit({ expected: this.lockBytes, next: this.lockBytes, objects });
  }

  /** close closes the store. */
  close(): Promise<void> {
    return this.store.close();
  }
}

/** rangeHash is the RFC 6962 tree hash of 1 to 256 leaf hashes (MTH over them). */
export function rangeHash(hashes: readonly Hash[]): Hash {
  const subtrees: Hash[] = [];
  let pos = 0;
  for (let width = 256; width >= 1; width /= 2) {
    if (hashes.length & width) {
      subtrees.push(balancedRoot(hashes.slice(pos, pos + width)));
      pos += width;
    }
  }
  return foldRight(subtrees);
}
