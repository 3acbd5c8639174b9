/**
 * The map as stored in a local key-value map (LevelDB under the data directory): the trie's
 * nodes, one record per key (its list's size and right edge), the lists (lists.ts: chunks of 256
 * indices and the hashes of full chunks and the subtrees above them), and the indexer's state.
 * Every change of a chunk of input entries commits atomically with the state that it moves (one
 * fsynced batch, or bounded batches under a redo journal: journal.ts), so a crash leaves the map
 * exactly at a chunk boundary.
 *
 *     s                       the state (JSON)
 *     t/<split hex>/<prefix>  a trie node: left child ‖ right child (nodes.ts)
 *     k/<key hex>             u64be(list size) ‖ the list's edge hashes
 *     l/<key hex>/<chunk>     up to 256 u64be indices: list positions chunk·256 onwards
 *     h/<key hex>/<level>/<n> the hash of a full chunk or of a perfect subtree of them
 *     j, j/<n>                a commit's redo journal (journal.ts)
 */
import { compare, concat, fromBase64, readU64be, toBase64, toHex, u64be } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { type Hash, HASH_SIZE } from '../merkle/index.ts';
import type { LocalMap } from '../storage/index.ts';
import type { Edge } from '../tiles/index.ts';
import { Commit, recover, type Write } from './journal.ts';
import { appendInPlace, EMPTY_LIST, type ListEdge, listRoot } from './list.ts';
import {
  CHUNK,
  CHUNK_LEVEL,
  chunkKey,
  decodeChunk,
  encodeChunk,
  type ListProof,
  readListProof,
  subtreeKey,
} from './lists.ts';
import { keyHash, mapEntry, type Mapped, type Problem, PROBLEMS } from './mapfn.ts';
import { type Child, decodeChild, encodeChild, foldTrie, openTrie, proveKey } from './nodes.ts';
import { commonPrefix, mapLeafHash, type MapValue, type TrieProof } from './trie.ts';

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
      edge: { size: s.edge.size, levels: s.edge.levels.map((l) => l.map(toBase64)) },
      root: s.root && toBase64(encodeChild(s.root)),
      pending: s.pending,
      covered: s.covered,
      revisions: s.revisions,
      counts: s.counts,
    }),
  );
}

function decodeState(b: Uint8Array): MapState {
  const j = JSON.parse(new TextDecoder().decode(b)) as {
    edge: { size: number; levels: string[][] };
    root: string | null;
    pending: string | null;
    covered: string | null;
    revisions: number;
    counts: Counts;
  };
  const levels = j.edge.levels.map((l) => l.map((h) => fromBase64(h)!));
  return {
    edge: { size: j.edge.size, levels, bundle: [] },
    root: j.root === null ? null : decodeChild(fromBase64(j.root)!),
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

function encodeKeyRecord(e: ListEdge): Uint8Array {
  return concat(u64be(e.size), ...e.hashes);
}

function decodeKeyRecord(b: Uint8Array): ListEdge {
  const size = readU64be(b, 0);
  if (size === null || (b.length - 8) % HASH_SIZE !== 0)
    throw new LogError('corrupt', 'map: a stored key record is malformed');
  const hashes: Hash[] = [];
  for (let off = 8; off < b.length; off += HASH_SIZE) hashes.push(b.slice(off, off + HASH_SIZE));
  return { size, hashes };
}

/**
 * MAP_LEVELDB is the LevelDB options of a map. LevelDB (1.20) maps every table file it holds
 * open into memory, and holds at least 64 open (it raises a smaller maxOpenFiles to 74, ten of
 * them for other files), so a map's mapped pages are bounded by 64 tables: tables of 1 MiB
 * (maxFileSize; a level-0 table is one 4 MiB memtable, and there are at most 12 of those) keep
 * that bound about 100 MiB however large the map grows. The block cache and memtable sizes are
 * LevelDB's defaults, stated (a 1 MiB memtable measured no smaller and ~30% slower).
 */
export const MAP_LEVELDB = {
  maxOpenFiles: 74,
  maxFileSize: 1 << 20,
  cacheSize: 8 << 20,
  writeBufferSize: 4 << 20,
};

// A commit's keys are applied PART at a time, in key order: a part's lists and the trie nodes
// its keys fall into are read, changed and handed to the commit, so what one commit holds in
// memory does not grow with the trie. Parts touch disjoint lists; in the trie, a later part
// reads only nodes whose subtree holds keys after the earlier parts' last key, and those that
// an earlier part rewrote are its ancestors (the spine: a few dozen nodes), kept from part to part.
const PART = 8192;

// nextSpine keeps the trie nodes written so far whose subtree reaches past last, the greatest
// key applied: those a later part may open (its keys all come after last).
function nextSpine(
  spine: Map<string, Uint8Array>,
  writes: readonly Write[],
  last: Hash,
): Map<string, Uint8Array> {
  const next = new Map<string, Uint8Array>();
  const keep = (id: string, node: Uint8Array) => {
    // A node (t/<split hex>/…) holds the key of its left child at bytes 2 to 34.
    const split = parseInt(id.slice(2, id.indexOf('/', 2)), 16);
    if (commonPrefix(node.subarray(2, 2 + HASH_SIZE), last) >= split) next.set(id, node);
  };
  spine.forEach((node, id) => keep(id, node));
  for (const w of writes) if (w.key.startsWith('t/')) keep(w.key, w.value);
  return next;
}

/**
 * MAX_BATCH is the default bound of one LevelDB batch of a commit, in bytes (journal.ts). The
 * batch is built on the main thread and copied into the memtable, and glibc keeps most of what
 * it frees: 4 MiB batches left RSS about 50 MiB higher than 1 MiB ones at 1M keys.
 */
export const MAX_BATCH = 1 << 20;

/** MapStore reads and updates the map in a LocalMap. */
export class MapStore {
  private readonly kv: LocalMap;
  private readonly mapFn: (entry: Uint8Array) => Mapped;
  private readonly maxBatch: number;
  private readonly part: number;
  // Set while a commit is under way: one that failed may have been decided but not finished,
  // so the map is unusable until state() recovers it (reopening the index).
  private committing = false;

  /**
   * The map function is mapEntry unless another is given (tests, other kinds of log); maxBatch
   * bounds each LevelDB batch of a commit (default MAX_BATCH), part the keys applied at a time
   * (default PART).
   */
  constructor(
    kv: LocalMap,
    mapFn: (entry: Uint8Array) => Mapped = mapEntry,
    opts: { maxBatch?: number; part?: number } = {},
  ) {
    this.kv = kv;
    this.mapFn = mapFn;
    this.maxBatch = opts.maxBatch ?? MAX_BATCH;
    this.part = opts.part ?? PART;
  }

  /** state finishes a commit a crash interrupted, then reads the durable state. */
  async state(): Promise<MapState> {
    await recover(this.kv, this.maxBatch);
    this.committing = false;
    const b = await this.kv.get(STATE_KEY);
    return b ? decodeState(b) : EMPTY_STATE;
  }

  /** saveState writes the state alone, durably. */
  async saveState(s: MapState): Promise<void> {
    this.usable();
    await this.kv.put([{ key: STATE_KEY, value: encodeState(s) }], { sync: true });
  }

  private usable(): void {
    if (this.committing)
      throw new LogError('unavailable', 'map: a commit failed; reopen the index to recover it');
  }

  /**
   * apply maps entries (consecutive, verified input entries from state.edge.size on), updates
   * lists and trie, and commits them with the next state in one atomic batch.
   */
  async apply(
    state: MapState,
    entries: readonly { index: number; entry: Uint8Array }[],
    next: Omit<MapState, 'root' | 'counts'>,
  ): Promise<MapState> {
    this.usable();
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
    // Keys in key order, applied PART at a time (see PART).
    const keys = [...changes]
      .map(([k, indices]) => {
        const key = keyHash(k);
        return { key, hex: toHex(key), indices };
      })
      .sort((a, b) => compare(a.key, b.key));
    this.committing = true;
    const commit = new Commit(this.kv, this.maxBatch);
    let root = state.root;
    let spine = new Map<string, Uint8Array>();
    for (let lo = 0; lo < keys.length || lo === 0; lo += this.part) {
      const part = keys.slice(lo, lo + this.part);
      const writes: Write[] = [];
      const put = (key: string, value: Uint8Array) => writes.push({ key, value });
      // Which trie nodes the keys fall into depends on the keys alone: they are read while the
      // lists are. A node an earlier part rewrote is read from the spine, the rest from the store.
      const [leaves, trie] = await Promise.all([
        this.appendLists(part, put, counts),
        openTrie(
          async (ids) => {
            const got = await this.kv.getMany(ids.filter((id) => !spine.has(id)));
            let i = 0;
            return ids.map((id) => spine.get(id) ?? got[i++]!);
          },
          root,
          part.map((c) => c.key),
        ),
      ]);
      root = foldTrie(trie, leaves, put);
      if (lo + this.part < keys.length) spine = nextSpine(spine, writes, part.at(-1)!.key);
      await commit.add(writes);
    }
    const s: MapState = { ...next, root, counts };
    await commit.add([{ key: STATE_KEY, value: encodeState(s) }]);
    await commit.finish();
    this.committing = false;
    return s;
  }

  // appendLists appends each key's new indices to its list and returns its new leaf hash.
  private async appendLists(
    keys: readonly { key: Hash; hex: string; indices: number[] }[],
    put: (key: string, value: Uint8Array) => void,
    counts: Counts,
  ): Promise<Hash[]> {
    const recs = await this.kv.getMany(keys.map((c) => `k/${c.hex}`));
    const edges = recs.map((r) => (r ? decodeKeyRecord(r) : EMPTY_LIST));
    // Only a list whose last chunk is partial has a tail to read (a new key has none).
    const partial = keys.flatMap((_, i) => (edges[i]!.size % CHUNK === 0 ? [] : [i]));
    const got = await this.kv.getMany(
      partial.map((i) => chunkKey(keys[i]!.hex, Math.floor(edges[i]!.size / CHUNK))),
    );
    const tails = new Map(partial.map((i, j) => [i, got[j]]));
    return keys.map(({ key, hex, indices }, i) => {
      const e = edges[i]!;
      if (e.size === 0) counts.keys++;
      const hashes = e.hashes.slice();
      let size = e.size;
      let c = Math.floor(size / CHUNK);
      let chunk = size % CHUNK === 0 ? [] : decodeChunk(tails.get(i)!);
      // A full chunk and each perfect subtree above it are stored as the append completes them.
      const done = (level: number, hash: Hash) => {
        if (level >= CHUNK_LEVEL)
          put(subtreeKey(hex, { level, index: size / 2 ** level - 1 }), hash);
      };
      for (const index of indices) {
        appendInPlace(hashes, size++, index, done);
        chunk.push(index);
        if (chunk.length === CHUNK) {
          put(chunkKey(hex, c++), encodeChunk(chunk));
          chunk = [];
        }
      }
      if (chunk.length > 0) put(chunkKey(hex, c), encodeChunk(chunk));
      const edge = { size, hashes };
      put(`k/${hex}`, encodeKeyRecord(edge));
      return mapLeafHash(key, { size, listRoot: listRoot(edge) });
    });
  }

  /** value reads a key's list size and root (size 0 when the key is absent). */
  async value(key: Hash): Promise<MapValue> {
    this.usable();
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
    this.usable();
    return readListProof(this.kv, toHex(key), size, start, end, since);
  }

  /** prove returns the trie proof for key under root, with the leaf's value. */
  async prove(root: Child | null, key: Hash): Promise<TrieProof> {
    this.usable();
    const p = await proveKey((id) => this.kv.get(id), root, key);
    if (!p.leaf) return { steps: p.steps, leaf: null };
    return { steps: p.steps, leaf: { key: p.leaf.key, value: await this.value(p.leaf.key) } };
  }
}
