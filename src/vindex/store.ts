/**
 * The map as stored in a local key-value map (LevelDB under the data directory): the trie's
 * nodes, one record per key (its list's size and right edge), the lists (lists.ts: chunks of 256
 * indices and the hashes of full chunks and the subtrees above them), and the indexer's state.
 * A chunk of input entries is applied in parts of keys (PART), each part one fsynced batch; the
 * last one also writes the state it moves to. A crash between parts leaves a progress record
 * (`p`), and the map is finished by applying the same chunk again (see apply): a crash leaves
 * the map at a chunk boundary, or part-way through a chunk that it can only go on with.
 *
 *     s                       the state (JSON)
 *     p                       a chunk's commit under way (JSON; empty: none)
 *     t/<split hex>/<prefix>  a trie node: left child ‖ right child (nodes.ts)
 *     k/<key hex>             u64be(list size) ‖ the list's edge hashes
 *     l/<key hex>/<chunk>     up to 256 u64be indices: list positions chunk·256 onwards
 *     h/<key hex>/<level>/<n> the hash of a full chunk or of a perfect subtree of them
 *     j, j/<n>                a redo journal an older version left (journal.ts)
 */
import { compare, toHex } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import type { LocalMap } from '../storage/index.ts';
import type { Edge } from '../tiles/index.ts';
import { recover } from './journal.ts';
import { EMPTY_LIST, listRoot } from './list.ts';
import { appendLists, decodeKeyRecord, type ListProof, readListProof } from './lists.ts';
import { keyHash, mapEntry, type Mapped, type Problem, PROBLEMS } from './mapfn.ts';
import { type Child, foldTrie, type NodesSource, openTrie, proveKey } from './nodes.ts';
import {
  decodeProgress,
  edgeFromJson,
  type EdgeJson,
  edgeToJson,
  encodeProgress,
  type Progress,
  rootFromJson,
  rootToJson,
  sameEdge,
} from './progress.ts';
import type { MapValue, TrieProof } from './trie.ts';

/** Counts are what the map function made of the entries so far (for /metrics). */
export interface Counts {
  entries: number;
  /** unmapped entries yielded no key at all. */
  unmapped: number;
  keys: number;
  problems: Record<Problem, number>;
}

/** MapState is the indexer's durable position. */
export interface MapState {
  /** edge is the input tree the map covers, verified against an input checkpoint. */
  readonly edge: Edge;
  readonly root: Child | null;
  /** pending is the input note the map is complete for, not yet appended to the output log. */
  readonly pending: string | null;
  /** covered is the input note of the last revision in the output log. */
  readonly covered: string | null;
  /** revisions is how many revisions the output log holds. */
  readonly revisions: number;
  readonly counts: Counts;
}

const STATE_KEY = 's';

function emptyCounts(): Counts {
  return {
    entries: 0,
    unmapped: 0,
    keys: 0,
    problems: Object.fromEntries(PROBLEMS.map((p) => [p, 0])) as Record<Problem, number>,
  };
}

/** EMPTY_STATE is the state of a new index. */
export const EMPTY_STATE: MapState = {
  edge: { size: 0, levels: [], bundle: [] },
  root: null,
  pending: null,
  covered: null,
  revisions: 0,
  counts: emptyCounts(),
};

function encodeState(s: MapState): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      edge: edgeToJson(s.edge),
      root: rootToJson(s.root),
      pending: s.pending,
      covered: s.covered,
      revisions: s.revisions,
      counts: s.counts,
    }),
  );
}

function decodeState(b: Uint8Array): MapState {
  const j = JSON.parse(new TextDecoder().decode(b)) as {
    edge: EdgeJson;
    root: string | null;
    pending: string | null;
    covered: string | null;
    revisions: number;
    counts: Counts;
  };
  return {
    edge: { ...edgeFromJson(j.edge), bundle: [] },
    root: rootFromJson(j.root),
    pending: j.pending,
    covered: j.covered,
    revisions: j.revisions,
    counts: {
      ...emptyCounts(),
      ...j.counts,
      problems: { ...emptyCounts().problems, ...j.counts.problems },
    },
  };
}

/**
 * MAP_LEVELDB is the LevelDB options of a map. LevelDB (1.20) maps every table file it holds
 * open into memory, and holds at least 64 open (it raises a smaller maxOpenFiles to 74, ten of
 * them for other files), so a map's mapped pages are bounded by 64 tables: tables of 1 MiB
 * (maxFileSize) besides level 0, whose tables are one memtable each, compacted from 4 of them
 * on (at most 12). The memtable is 16 MiB: parts rewrite the trie nodes above their keys, and a
 * larger memtable absorbs more of those rewrites before they reach a table, which halved the
 * compaction thread's CPU (24-27 -> 11-12 us an entry, 100k keys) for ~5 MiB more RSS (RSS
 * bench, 1M keys). The block cache is LevelDB's default, stated. Tables are not compressed:
 * the values are hashes, which Snappy cannot shrink, and compressing them was about a sixth of
 * the compaction thread's CPU (MapStore.apply of 300k entries: 14.1-14.8 -> 11.7-12.9 us an
 * entry). LevelDB reads a block as its own header says, so tables written before still read.
 */
export const MAP_LEVELDB = {
  maxOpenFiles: 74,
  maxFileSize: 1 << 20,
  cacheSize: 8 << 20,
  writeBufferSize: 16 << 20,
  compression: false,
};

// A chunk's keys are applied PART at a time, in key order: a part's lists and the trie nodes its
// keys fall into are read, changed and written in one fsynced batch, so what one commit holds in
// memory does not grow with the trie, and no batch grows with the chunk. Parts touch disjoint
// lists; in the trie, a later part reads only nodes whose subtree holds keys after the earlier
// parts' last key, and those an earlier part rewrote (its ancestors) it reads as written.
// 2,048 new keys make a batch of under 1 MiB; glibc keeps much of what larger batches free (the
// RSS bench at 1M keys: 284 MiB with 2,048, 348 with 8,192, which fsyncs a quarter as often).
const PART = 2048;

// The journal's batch bound, for finishing a journal an older version left (journal.ts).
const JOURNAL_BATCH = 4 << 20;

const PROGRESS_KEY = 'p';
const EMPTY = new Uint8Array(0);

// readThrough reads from the store, except what the part being written writes (nodes).
function readThrough(kv: LocalMap, nodes: ReadonlyMap<string, Uint8Array>): NodesSource {
  return async (ids) => {
    const miss = nodes.size === 0 ? ids : ids.filter((id) => !nodes.has(id));
    const got = await kv.getMany(miss);
    if (miss === ids) return got;
    let j = 0;
    return ids.map((id) => nodes.get(id) ?? got[j++]!);
  };
}

/** MapStore reads and updates the map in a LocalMap. */
export class MapStore {
  private readonly kv: LocalMap;
  private readonly mapFn: (entry: Uint8Array) => Mapped;
  private readonly part: number;
  // Set while a commit is under way: one that failed may have applied some parts, so the map is
  // unusable until state() reads where it stopped (reopening the index).
  private committing = false;
  // A chunk's commit a crash interrupted (state() reads it): until apply finishes it, the map
  // holds parts of it and answers nothing.
  private progress: Progress | null = null;

  /**
   * The map function is mapEntry unless another is given (tests, other kinds of log); part is
   * the keys applied at a time (default PART), each part one batch.
   */
  constructor(
    kv: LocalMap,
    mapFn: (entry: Uint8Array) => Mapped = mapEntry,
    opts: { part?: number } = {},
  ) {
    this.kv = kv;
    this.mapFn = mapFn;
    this.part = opts.part ?? PART;
  }

  /**
   * state reads the durable state. When a crash interrupted a chunk's commit, it is the state
   * before that chunk, and unfinished() names the end of the chunk that apply must be given next.
   */
  async state(): Promise<MapState> {
    await recover(this.kv, JOURNAL_BATCH);
    const [b, p] = await this.kv.getMany([STATE_KEY, PROGRESS_KEY]);
    this.progress = p && p.length > 0 ? decodeProgress(p) : null;
    this.committing = false;
    return b ? decodeState(b) : EMPTY_STATE;
  }

  /** unfinished is the input size the interrupted chunk ends at, or null when there is none. */
  unfinished(): number | null {
    return this.progress?.edge.size ?? null;
  }

  /** saveState writes the state alone, durably. */
  async saveState(s: MapState): Promise<void> {
    this.readable();
    await this.kv.put([{ key: STATE_KEY, value: encodeState(s) }], { sync: true });
  }

  private usable(): void {
    if (this.committing)
      throw new LogError('unavailable', 'map: a commit failed; reopen the index to recover it');
  }

  private readable(): void {
    this.usable();
    if (this.progress)
      throw new LogError('unavailable', 'map: an interrupted commit is not finished yet');
  }

  /**
   * apply maps entries (consecutive, verified input entries from state.edge.size on), updates
   * lists and trie, and commits them with the next state, a part of the keys at a time.
   *
   * The crash argument. The keys of a chunk, sorted, are cut into parts; each part's writes go
   * in one fsynced batch with a progress record (the chunk's start and end, the last key applied,
   * the trie's root and the key count after it), the last part's with the next state instead.
   * A batch is atomic and batches land in order, so after a crash the map holds the state
   * before the chunk plus the parts up to the progress record. Those parts changed only the
   * lists of their own keys and the trie nodes above them; what a later part reads (the lists of
   * later keys, the trie nodes above later keys) is then exactly what it would have read had
   * the commit not stopped. So applying the same chunk again (the same entries give the same
   * keys) from the key after the last applied, from the recorded root and count, writes exactly
   * what the uninterrupted commit would have. The indexer reads that chunk again from the input,
   * verified as any chunk, and its edge must be the recorded one (the same tree, so the same
   * entries); until then the map answers nothing (readable()), since its lists are ahead of its
   * root.
   */
  async apply(
    state: MapState,
    entries: readonly { index: number; entry: Uint8Array }[],
    next: Omit<MapState, 'root' | 'counts'>,
  ): Promise<MapState> {
    this.usable();
    const resume = this.progress;
    if (resume && (resume.from !== state.edge.size || !sameEdge(resume.edge, next.edge)))
      throw new LogError('corrupt', 'map: the entries differ from those of the unfinished commit');
    const counts = structuredClone(state.counts);
    // The indices each typed key gains, in input order; a key is hashed once per apply.
    const changes = new Map<string, number[]>();
    for (const { index, entry } of entries) {
      const m = this.mapFn(entry);
      counts.entries++;
      if (m.keys.length === 0) counts.unmapped++;
      for (const p of m.problems) counts.problems[p]++;
      for (const k of m.keys) {
        const c = changes.get(k);
        if (c) c.push(index);
        else changes.set(k, [index]);
      }
    }
    // Keys in key order (lowercase hex sorts as the bytes do), applied PART at a time.
    let keys = [...changes]
      .map(([k, indices]) => {
        const key = keyHash(k);
        return { key, hex: toHex(key), indices };
      })
      .sort((a, b) => compare(a.key, b.key));
    let root = state.root;
    if (resume) {
      keys = keys.filter((k) => k.hex > resume.after);
      root = resume.root;
      counts.keys = resume.keys;
    }
    this.committing = true;
    let s: MapState | null = null;
    // A part is read and computed while the part before it is written (fsynced): what that part
    // writes and a later part reads, the trie nodes above both (lists are disjoint), it reads
    // from that part's writes (last); all else the store holds as it will be after the write.
    // The batches are the same as written one after the other, and still land one at a time.
    let writing: Promise<void> = Promise.resolve();
    let last = new Map<string, Uint8Array>();
    for (let lo = 0; lo < keys.length || lo === 0; lo += this.part) {
      const part = keys.slice(lo, lo + this.part);
      const writes: { key: string; value: Uint8Array }[] = [];
      const put = (key: string, value: Uint8Array) => writes.push({ key, value });
      const read = readThrough(this.kv, last);
      // The trie nodes the keys fall into are read first: they tell which keys the map holds
      // already, and only those have a list to read (most keys of a chunk are new ones).
      const trie = await openTrie(
        read,
        root,
        part.map((c) => c.key),
      );
      const lists = await appendLists(read, part, trie.present, put);
      counts.keys += lists.added;
      const nodes = new Map<string, Uint8Array>();
      root = foldTrie(trie, lists.leaves, (id, node) => {
        nodes.set(id, node);
        put(id, node);
      });
      if (lo + this.part < keys.length) {
        const after = part.at(-1)!.hex;
        const edge = next.edge;
        put(
          PROGRESS_KEY,
          encodeProgress({ from: state.edge.size, edge, after, root, keys: counts.keys }),
        );
      } else {
        s = { ...next, root, counts };
        put(STATE_KEY, encodeState(s));
        if (lo > 0 || resume) put(PROGRESS_KEY, EMPTY);
      }
      // A failed write fails the commit here, before any later part is written.
      await writing;
      writing = this.kv.put(writes, { sync: true });
      writing.catch(() => undefined);
      last = nodes;
    }
    await writing;
    this.progress = null;
    this.committing = false;
    return s!;
  }

  /** value reads a key's list size and root (size 0 when the key is absent). */
  async value(key: Hash): Promise<MapValue> {
    this.readable();
    const r = await this.kv.get(`k/${toHex(key)}`);
    const e = r ? decodeKeyRecord(r) : EMPTY_LIST;
    return { size: e.size, listRoot: listRoot(e) };
  }

  /**
   * listProof reads positions [start, end) of a key's list of size with their page proof, and
   * the consistency proof from since (lists.ts: O(log size) reads besides the page).
   */
  async listProof(
    key: Hash,
    size: number,
    start: number,
    end: number,
    since?: number,
  ): Promise<ListProof> {
    this.readable();
    return readListProof(this.kv, toHex(key), size, start, end, since);
  }

  /** prove returns the trie proof for key under root, with the leaf's value. */
  async prove(root: Child | null, key: Hash): Promise<TrieProof> {
    this.readable();
    const p = await proveKey((id) => this.kv.get(id), root, key);
    if (!p.leaf) return { steps: p.steps, leaf: null };
    return { steps: p.steps, leaf: { key: p.leaf.key, value: await this.value(p.leaf.key) } };
  }
}
