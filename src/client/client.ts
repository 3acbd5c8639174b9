/**
 * A verifying client for any C2SP tlog-tiles log over HTTP, with no Node imports (it runs in
 * browsers): it opens checkpoints with the log's verifier keys, computes proofs from tiles, and
 * follows a log entry by entry, checking that the new entries extend the tree it has verified to
 * exactly the new checkpoint's root. Tiles are read through the one cached TileSource (a tile's
 * bytes never change), with the tlog-tiles fallback from a partial tile that is gone to the full one.
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { checkConsistency, type Hash } from '../merkle/index.ts';
import { type Checkpoint, type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';
import {
  appendToEdge,
  decodeBundle,
  DEFAULT_CACHE_BYTES,
  type Edge,
  edgeRoot,
  ENTRIES,
  loadEdge,
  proveConsistency,
  proveInclusion,
  type Tile,
  TILE_WIDTH,
  tileAt,
  type TileFetcher,
  tilePath,
  TileSource,
} from '../tiles/index.ts';

/** FOLLOW_AHEAD is how many entry bundles follow fetches at once by default. */
const FOLLOW_AHEAD = 4;

/** Verified is a checkpoint whose signature was verified, with its note text. */
export interface Verified {
  readonly note: string;
  readonly checkpoint: Checkpoint;
}

/** ClientOptions locates a log and says whom to trust. */
export interface ClientOptions {
  /** url is the log's prefix: `${url}/checkpoint`, `${url}/tile/…`. */
  readonly url: string;
  readonly verifiers: readonly NoteVerifier[];
  readonly fetch?: typeof globalThis.fetch;
  /** cacheBytes bounds the tile cache (default 64 MiB). */
  readonly cacheBytes?: number;
}

/** TlogClient reads and verifies one tlog-tiles log. */
export class TlogClient {
  private readonly url: string;
  private readonly verifiers: readonly NoteVerifier[];
  private readonly get: typeof globalThis.fetch;
  private readonly source: TileSource;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.verifiers = opts.verifiers;
    this.get = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.source = new TileSource({
      fetch: (paths) => Promise.all(paths.map((p) => this.fetchBytes(p, false))),
      capacityBytes: opts.cacheBytes ?? DEFAULT_CACHE_BYTES,
    });
  }

  /** checkpoint fetches and verifies the log's current checkpoint. */
  async checkpoint(): Promise<Verified> {
    const note = new TextDecoder().decode(await this.fetchBytes('checkpoint', true));
    return { note, checkpoint: parseCheckpoint(openNote(note, this.verifiers).text) };
  }

  /**
   * tile fetches a tile or bundle as it is in a tree of size leaves. A partial tile that is gone
   * is cut from the full one (tlog-tiles: clients fall back to it).
   */
  async tile(t: Tile): Promise<Uint8Array> {
    const [data] = await this.source.read([t]);
    if (!data) throw new LogError('not_found', `client: ${tilePath(t)} is not served`);
    return data;
  }

  /** fetcher is a TileFetcher over HTTP, for proofs from tiles. */
  get fetcher(): TileFetcher {
    return this.source.fetchHashes;
  }

  /** proveInclusion computes the inclusion proof of index in the tree of size from tiles. */
  proveInclusion(index: number, size: number): Promise<Hash[]> {
    return proveInclusion(this.fetcher, index, size);
  }

  /** checkConsistent proves from tiles that newer extends older, or throws 'corrupt' (a split view). */
  async checkConsistent(older: Checkpoint, newer: Checkpoint): Promise<void> {
    if (older.origin !== newer.origin)
      throw new LogError('corrupt', 'client: checkpoints of different origins');
    if (newer.size < older.size)
      throw new LogError('corrupt', `client: the log shrank from ${older.size} to ${newer.size}`);
    if (older.size === 0) return;
    try {
      checkConsistency(
        older.size,
        newer.size,
        older.root,
        newer.root,
        await proveConsistency(this.fetcher, older.size, newer.size),
      );
    } catch (err) {
      throw new LogError(
        'corrupt',
        `client: checkpoint ${newer.size} is not consistent with ${older.size}: ${err instanceof Error ? err.message : err}`,
      );
    }
  }

  /** edgeAt reads the right edge of the tree of a verified checkpoint, checked against its root. */
  edgeAt(cp: Checkpoint): Promise<Edge> {
    return loadEdge((tiles) => this.source.read(tiles), cp.size, cp.root);
  }

  /**
   * follow reads the entries from edge.size up to cp.size, bundle by bundle, and checks that they
   * extend edge to exactly cp's root; it yields each entry with its index. The caller keeps the
   * returned edge as its verified position. Up to `ahead` bundles are fetched at once, so that
   * the fetches overlap the hashing and the caller's work on the entries.
   */
  async *follow(
    edge: Edge,
    cp: Checkpoint,
    ahead = FOLLOW_AHEAD,
  ): AsyncGenerator<{ index: number; entry: Uint8Array }, Edge> {
    const it = this.followBundles(edge, cp, ahead);
    for (;;) {
      const n = await it.next();
      if (n.done) return n.value;
      const { index, entries } = n.value;
      for (let i = 0; i < entries.length; i++) yield { index: index + i, entry: entries[i]! };
    }
  }

  /**
   * followBundles is follow a bundle at a time: it yields the new entries of each bundle (index
   * is the first one's), already hashed into the edge, and checks the root after the last one.
   */
  async *followBundles(
    edge: Edge,
    cp: Checkpoint,
    ahead = FOLLOW_AHEAD,
  ): AsyncGenerator<{ index: number; entries: Uint8Array[] }, Edge> {
    let e = edge;
    const fetching = new Map<number, Promise<Uint8Array>>();
    while (e.size < cp.size) {
      const n = Math.floor(e.size / TILE_WIDTH);
      for (let k = n; k < n + Math.max(1, ahead) && k * TILE_WIDTH < cp.size; k++) {
        if (fetching.has(k)) continue;
        const p = this.tile(tileAt(ENTRIES, k, cp.size)!);
        // Handled when awaited; a bundle fetched ahead for a follower that stopped is dropped.
        p.catch(() => undefined);
        fetching.set(k, p);
      }
      const t = tileAt(ENTRIES, n, cp.size)!;
      const data = await fetching.get(n)!;
      fetching.delete(n);
      const entries = decodeBundle(data, t.width).slice(e.size - n * TILE_WIDTH);
      const before = e.size;
      e = appendToEdge(e, entries).edge; // it hashes the leaves as it goes
      yield { index: before, entries };
    }
    if (!equal(edgeRoot(e), cp.root)) {
      throw new LogError(
        'corrupt',
        `client: the entries do not hash to the root of checkpoint ${cp.size}: split view or bad bundle`,
      );
    }
    return e;
  }

  private async fetchBytes(path: string, required: true): Promise<Uint8Array>;
  private async fetchBytes(path: string, required: false): Promise<Uint8Array | null>;
  private async fetchBytes(path: string, required: boolean): Promise<Uint8Array | null> {
    let res: Response;
    try {
      res = await this.get(`${this.url}/${path}`);
    } catch (cause) {
      throw new LogError('unavailable', `client: GET ${path} failed`, { cause });
    }
    if (res.status === 404 && !required) return null;
    if (!res.ok)
      throw new LogError(
        res.status === 404 ? 'not_found' : 'unavailable',
        `client: GET ${path}: ${res.status}`,
      );
    return new Uint8Array(await res.arrayBuffer());
  }
}
