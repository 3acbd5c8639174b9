/**
 * The indexer: follows the input log, maps every entry, updates the stored map and appends one
 * revision to the output log per input checkpoint it catches up to; and it answers lookups
 * against the last revision. The order of durable steps is the crash-safety argument:
 *
 * 1. Entries are read in chunks and each chunk is verified against the input checkpoint before
 *    the map changes (the last chunk: the entries hash to its root; earlier ones: a consistency
 *    proof from the chunk's tree to it). A bad entry or split view stops the indexer ('corrupt').
 * 2. Each chunk's map changes commit with the new position (MapStore.apply); the last chunk also
 *    records the checkpoint as pending. A crash resumes at a chunk boundary, or, in the middle of
 *    a chunk's parts, by reading that same chunk again (verified again, and it must end at the
 *    recorded edge) and applying it from where the parts stopped.
 * 3. The pending revision is appended to the output log, then recorded as covered. A crash
 *    between the two appends the same bytes again on restart, which the log deduplicates.
 *
 * So a root reaches the output log only once the map covers exactly the verified input. Lookups
 * take a read lock, a step the write lock: a lookup never sees a map ahead of the output log.
 */
import { equal, toBase64, toHex } from '../bytes.ts';
import type { TlogClient } from '../client/index.ts';
import { badRequest, LogError } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import { parseCheckpoint } from '../note/index.ts';
import type { Log } from '../sequencer/index.ts';
import type { LocalMap } from '../storage/index.ts';
import { TILE_WIDTH } from '../tiles/index.ts';
import { checkPrefix, type Chunk, readChunk } from './follow.ts';
import { formatTrieProof, type LookupAnswer } from './lookup.ts';
import type { Mapped } from './mapfn.ts';
import { formatRevision } from './revision.ts';
import { EMPTY_STATE, type MapState, MapStore } from './store.ts';
import { EMPTY_MAP_ROOT } from './trie.ts';

/** IndexerEvents observe the indexer (progress bar, logs, metrics); they must not throw. */
export interface IndexerEvents {
  progress?(done: number, total: number): void;
  revision?(index: number, inputSize: number): void;
}

/** IndexerOptions wires an indexer to its input, output and storage. */
export interface IndexerOptions {
  /** input is a verifying client of the input log. */
  readonly input: TlogClient;
  /** output is the output log, opened with the index's signing key. */
  readonly output: Log;
  /** kv holds the map (the indexer is its only user). */
  readonly kv: LocalMap;
  /** chunk is how many input entries one map commit covers at most (default 16,384). */
  readonly chunk?: number;
  readonly events?: IndexerEvents;
  /** mapFn replaces the map function (default mapEntry, the README's). */
  readonly mapFn?: (entry: Uint8Array) => Mapped;
  /** part is how many keys one batch of a chunk's commit applies (store.ts; tests). */
  readonly part?: number;
}

/** LookupOptions pages a long list and asks for its consistency with a size seen before. */
export interface LookupOptions {
  readonly start?: number;
  readonly limit?: number;
  readonly since?: number;
}

const LOOKUP_WAIT_MS = 2000;

/** MAX_PAGE is the most indices one lookup answers. */
export const MAX_PAGE = 10_000;

const headerOf = (note: string) => parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));

/** Indexer builds and serves one verifiable index. */
export class Indexer {
  private readonly input: TlogClient;
  private readonly output: Log;
  private readonly map: MapStore;
  private readonly chunk: number;
  private readonly events: IndexerEvents;
  private s: MapState = EMPTY_STATE;
  private readers = 0;
  private writing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  private constructor(opts: IndexerOptions) {
    this.input = opts.input;
    this.output = opts.output;
    this.map = new MapStore(opts.kv, opts.mapFn, { part: opts.part });
    this.chunk = Math.max(TILE_WIDTH, opts.chunk ?? 16_384);
    this.events = opts.events ?? {};
  }

  /**
   * open loads the index, checks that the output log holds exactly the revisions the map knows
   * of, and appends a revision a crash left pending.
   */
  static async open(opts: IndexerOptions): Promise<Indexer> {
    const ix = new Indexer(opts);
    ix.s = await ix.map.state();
    const out = ix.output.state.checkpoint.size;
    const known = ix.s.revisions;
    if (out !== known && !(ix.s.pending && out === known + 1))
      throw new LogError(
        'corrupt',
        `index: the output log holds ${out} revisions, the map knows of ${known}`,
      );
    ix.s = await ix.publish(ix.s);
    return ix;
  }

  /** state is the last committed state. */
  get state(): MapState {
    return this.s;
  }

  /**
   * step catches up with the input log's current checkpoint and appends a revision for it; it
   * returns false when there was nothing new. It throws 'corrupt' on unverifiable input.
   */
  async step(): Promise<boolean> {
    const cur = await this.input.checkpoint();
    const cp = cur.checkpoint;
    if (this.s.covered) await this.input.checkConsistent(headerOf(this.s.covered), cp);
    const coveredSize = this.s.covered ? headerOf(this.s.covered).size : -1;
    if (cp.size <= coveredSize && !this.s.pending) return false;
    await this.exclusive(async () => {
      let s = this.s;
      if (s.edge.size < cp.size) await checkPrefix(this.input, s.edge, cp);
      let ahead: Promise<Chunk> | null = null;
      // A chunk a crash interrupted is read again to exactly its end (store.ts, apply).
      let until = this.map.unfinished() ?? undefined;
      if (until !== undefined && until > cp.size)
        throw new LogError('unavailable', `index: the input is behind the map's ${until} entries`);
      while (s.edge.size < cp.size || (!s.pending && coveredSize < cp.size)) {
        // A chunk is verified against cp before the map changes (follow.ts).
        const { entries, edge }: Chunk = await (ahead ??
          readChunk(this.input, s.edge, cp, this.chunk, until));
        until = undefined;
        // The next chunk is read and verified while this one is applied: reading needs only the
        // edge. Its failure surfaces when it is awaited, after this chunk's commit.
        ahead = edge.size < cp.size ? readChunk(this.input, edge, cp, this.chunk) : null;
        ahead?.catch(() => undefined);
        const done = edge.size === cp.size;
        s = this.s = await this.map.apply(s, entries, {
          ...s,
          edge,
          pending: done ? cur.note : null,
        });
        this.events.progress?.(edge.size, cp.size);
      }
      this.s = await this.publish(s);
    });
    return true;
  }

  private async publish(s: MapState): Promise<MapState> {
    if (!s.pending) return s;
    const leaf = formatRevision({ mapRoot: s.root?.hash ?? EMPTY_MAP_ROOT, inputNote: s.pending });
    const r = await this.output.add(leaf);
    if (r.index !== s.revisions)
      throw new LogError('corrupt', `index: revision ${s.revisions} landed at ${r.index}`);
    const next = { ...s, covered: s.pending, pending: null, revisions: s.revisions + 1 };
    await this.map.saveState(next);
    this.events.revision?.(r.index, headerOf(s.pending).size);
    return next;
  }

  /** lookup answers a key's list (a page of it) with every proof, against the last revision. */
  async lookup(key: Hash, opts: LookupOptions = {}): Promise<LookupAnswer> {
    const start = opts.start ?? 0;
    const limit = Math.min(opts.limit ?? 1000, MAX_PAGE);
    return this.shared(async () => {
      const s = this.s;
      if (!s.covered || s.pending)
        throw new LogError('unavailable', 'index: no revision to answer from yet');
      const root = s.root?.hash ?? EMPTY_MAP_ROOT;
      const leaf = formatRevision({ mapRoot: root, inputNote: s.covered });
      const out = this.output.state;
      const index = s.revisions - 1;
      const [proof, inclusion] = await Promise.all([
        this.map.prove(s.root, key),
        this.output.reader.proveInclusion(index, out.checkpoint.size),
      ]);
      const found = proof.leaf && equal(proof.leaf.key, key) ? proof.leaf.value : null;
      const size = found?.size ?? 0;
      if (start > 0 && start >= size)
        throw badRequest(`start ${start} is beyond the list of ${size}`);
      const end = Math.min(size, start + limit);
      const since =
        opts.since !== undefined && opts.since > 0 && opts.since <= size ? opts.since : undefined;
      const list = found
        ? await this.map.listProof(key, size, start, end, since)
        : { indices: [], pageProof: [], consistency: [] };
      return {
        key: toHex(key),
        indices: list.indices,
        start,
        pageProof: list.pageProof.map(toBase64),
        ...(since !== undefined && { since, consistency: list.consistency.map(toBase64) }),
        trie: formatTrieProof(proof),
        revision: { index, leaf: toBase64(leaf), inclusionProof: inclusion.map(toBase64) },
        checkpoint: out.note,
      };
    });
  }

  // A readers-writer lock: lookups share it; a step holds it alone.
  // A lookup waits up to LOOKUP_WAIT_MS for a step; a long catch-up answers 503 instead.
  private async shared<T>(f: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + LOOKUP_WAIT_MS;
    while (this.writing) {
      const left = deadline - Date.now();
      if (left <= 0) throw new LogError('unavailable', 'index: catching up with the input log');
      await Promise.race([this.writing, new Promise((r) => setTimeout(r, left))]);
    }
    this.readers++;
    try {
      return await f();
    } finally {
      if (--this.readers === 0) this.drained?.();
    }
  }

  private async exclusive(f: () => Promise<void>): Promise<void> {
    while (this.writing) await this.writing;
    let release!: () => void;
    this.writing = new Promise((r) => (release = r));
    try {
      while (this.readers > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = null;
      await f();
    } finally {
      this.writing = null;
      release();
    }
  }
}
