/**
 * The right edge of a tiled tree: for each level, the hashes of its rightmost, partial tile, and
 * the entries of the partial entry bundle. That is all a sequencer needs to append (O(log n)
 * memory, never the tree), and appending is pure: it returns a new edge and the tiles to write,
 * leaving the old edge valid if the commit that would publish them fails.
 */
import { equal } from '../bytes.ts';
import { assert, LogError } from '../errors.ts';
import {
  balancedRootInto,
  foldRight,
  type Hash,
  HASH_SIZE,
  leafHashInto,
  nodeHash,
} from '../merkle/index.ts';
import { checkEntry, decodeBundle, putEntry } from './bundle.ts';
import { ENTRIES, type Tile, TILE_WIDTH, tilePath, tileWidth } from './tile.ts';

/** Edge is the right edge of a tree of size leaves. */
export interface Edge {
  readonly size: number;
  /** levels[L] holds the hashes of the partial tile at level L (fewer than 256; may be empty). */
  readonly levels: readonly (readonly Hash[])[];
  /** bundle holds the entries of the partial entry bundle (fewer than 256). */
  readonly bundle: readonly Uint8Array[];
}

/** EMPTY_EDGE is the edge of the empty tree. */
export const EMPTY_EDGE: Edge = { size: 0, levels: [], bundle: [] };

/** TileWrite is a tile or bundle to store at its tlog-tiles path. */
export interface TileWrite {
  readonly tile: Tile;
  readonly path: string;
  readonly data: Uint8Array;
}

/** edgeTiles lists the partial tiles that make up the edge of a tree of size (bundle first). */
export function edgeTiles(size: number): Tile[] {
  const out: Tile[] = [];
  for (let level = ENTRIES; TILE_WIDTH ** Math.max(level, 0) <= size; level++) {
    const n = Math.floor(size / TILE_WIDTH ** (Math.max(level, 0) + 1));
    const width = tileWidth(level, n, size);
    if (width > 0 && width < TILE_WIDTH) out.push({ level, n, width });
  }
  return out;
}

/** edgeRoot returns the root hash of the tree the edge ends. */
export function edgeRoot(edge: Edge): Hash {
  const subtrees: Hash[] = [];
  for (let level = edge.levels.length - 1; level >= 0; level--)
    subtrees.push(...peaksOf(edge.levels[level]!));
  return foldRight(subtrees);
}

// PEAKS holds, for a level's partial tile (an edge's hash array, never modified), the roots of the
// perfect subtrees its hashes make up, largest first (the binary decomposition of its width).
// A commit's appendToEdge extends the previous edge's peaks with its new hashes (finish), so its
// edgeRoot hashes about one node per new hash instead of the whole partial tile again (a
// 100-entry commit at 30k entries: edgeRoot 158-457 -> 20-63 µs, appendToEdge ~+40 µs, load 8).
const PEAKS = new WeakMap<readonly Hash[], readonly Hash[]>();

function peaksOf(hashes: readonly Hash[]): readonly Hash[] {
  let p = PEAKS.get(hashes);
  if (p === undefined) {
    p = extendPeaks([], hashes, 0);
    PEAKS.set(hashes, p);
  }
  return p;
}

// extendPeaks returns the peaks of hashes given those (old) of its first `from` hashes: appending
// hash i merges it with as many peaks as i has trailing one bits, as a binary counter carries.
function extendPeaks(old: readonly Hash[], hashes: readonly Hash[], from: number): Hash[] {
  const stack = old.slice();
  for (let i = from; i < hashes.length; i++) {
    let h = hashes[i]!;
    for (let c = i; c & 1; c >>= 1) h = nodeHash(stack.pop()!, h);
    stack.push(h);
  }
  return stack;
}

/** Level is the partial tile of one level being filled: its hashes back to back, as stored. */
interface Level {
  data: Uint8Array;
  count: number;
  /** kept are the edge's own hash objects for data's first kept.length hashes. */
  kept: readonly Hash[];
}

function openLevel(old: readonly Hash[]): Level {
  const data = new Uint8Array(TILE_WIDTH * HASH_SIZE);
  old.forEach((h, i) => data.set(h, i * HASH_SIZE));
  return { data, count: old.length, kept: old };
}

/**
 * Appender holds one appendToEdge call's state. Hashes are written straight into the tiles they
 * belong to, which are the writes: a full tile is handed out as it is, and its root is written
 * into the tile above (bench/crypto.bench.ts tree hashing).
 */
class Appender {
  readonly writes: TileWrite[] = [];
  private readonly open: (Level | undefined)[] = [];
  private readonly edge: Edge;

  constructor(edge: Edge) {
    this.edge = edge;
  }

  put(tile: Tile, data: Uint8Array): void {
    this.writes.push({ tile, path: tilePath(tile), data });
  }

  /** level returns the partial tile of level L, opened from the edge on first use. */
  level(L: number): Level {
    return (this.open[L] ??= openLevel(this.edge.levels[L] ?? []));
  }

  /** added counts k hashes written at level L after its count, the last of index last. */
  added(L: number, k: number, last: number): void {
    const lv = this.level(L);
    lv.count += k;
    if (lv.count < TILE_WIDTH) return;
    const n = Math.floor(last / TILE_WIDTH);
    this.put({ level: L, n, width: TILE_WIDTH }, lv.data);
    const up = this.level(L + 1);
    balancedRootInto(lv.data, up.data, up.count * HASH_SIZE);
    this.open[L] = { data: new Uint8Array(TILE_WIDTH * HASH_SIZE), count: 0, kept: [] };
    this.added(L + 1, 1, n);
  }

  /** finish writes the partial tiles of the levels that changed and returns the edge's levels. */
  finish(size: number): Hash[][] {
    const levels: Hash[][] = [];
    const height = Math.max(this.open.length, this.edge.levels.length);
    for (let L = 0; L < height; L++) {
      const lv = this.open[L];
      if (!lv) {
        const same = this.edge.levels[L] ?? [];
        levels.push(same.slice());
        const p = PEAKS.get(same);
        if (p) PEAKS.set(levels[L]!, p);
        continue;
      }
      const hashes = lv.kept.slice();
      for (let i = hashes.length; i < lv.count; i++)
        hashes.push(lv.data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      levels.push(hashes);
      // Peaks are extended only where the old ones are known (an edge whose root was asked for):
      // appending pays nothing for callers that never ask.
      const p = PEAKS.get(lv.kept);
      if (p) PEAKS.set(hashes, extendPeaks(p, hashes, lv.kept.length));
      if (lv.count === 0) continue;
      const n = Math.floor(size / TILE_WIDTH ** (L + 1));
      this.put({ level: L, n, width: lv.count }, lv.data.subarray(0, lv.count * HASH_SIZE));
    }
    return levels;
  }
}

/**
 * appendBundle encodes the entry bundle that holds old (already in the tree) and then entries
 * [from, to), and writes the leaf hash of each of these to level 0: taken from hashes, or, when
 * hashes is not given, computed from the entry (leafHashInto).
 */
function appendBundle(
  old: readonly Uint8Array[],
  entries: readonly Uint8Array[],
  hashes: readonly Hash[] | undefined,
  from: number,
  to: number,
  level: Level,
): Uint8Array {
  let n = 0;
  for (const e of old) n += 2 + e.length;
  for (let i = from; i < to; i++) {
    checkEntry(entries[i]!);
    n += 2 + entries[i]!.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const e of old) off = putEntry(out, off, e);
  for (let i = from, at = level.count * HASH_SIZE; i < to; i++, at += HASH_SIZE) {
    const e = entries[i]!;
    off = putEntry(out, off, e);
    if (hashes) level.data.set(hashes[i]!, at);
    else leafHashInto(e, level.data, at);
  }
  return out;
}

/**
 * appendToEdge appends entries to edge, with their leaf hashes, or without them, and then they
 * are computed here as the bundles are written (each entry just copied, still in cache). It
 * returns the new edge and the tiles and bundles to write: every tile that filled, and the new
 * partial tile of every level that changed. superseded lists the paths of partial tiles the new
 * ones replace.
 */
export function appendToEdge(
  edge: Edge,
  entries: readonly Uint8Array[],
  hashes?: readonly Hash[],
): { edge: Edge; writes: TileWrite[]; superseded: string[] } {
  assert(!hashes || entries.length === hashes.length, 'tiles: one hash per entry');
  const a = new Appender(edge);
  let bundle: readonly Uint8Array[] = edge.bundle;
  let size = edge.size;
  // One entry bundle at a time: the bundle and the level-0 tile of the same entries fill together.
  for (let from = 0; from < entries.length;) {
    // Counted from the size, not the bundle: an edge may be kept without its bundle (the index
    // keeps only hashes), and then the bundles written are not meant to be read.
    const held = size % TILE_WIDTH;
    const to = Math.min(entries.length, from + TILE_WIDTH - held);
    const data = appendBundle(bundle, entries, hashes, from, to, a.level(0));
    const width = held + to - from;
    const n = Math.floor(size / TILE_WIDTH);
    size += to - from;
    if (width === TILE_WIDTH || to === entries.length) a.put({ level: ENTRIES, n, width }, data);
    bundle = width === TILE_WIDTH ? [] : bundle.concat(entries.slice(from, to));
    a.added(0, to - from, size - 1);
    from = to;
  }
  const levels = a.finish(size);
  const kept = new Set(edgeTiles(size).map(tilePath));
  const superseded = edgeTiles(edge.size)
    .map(tilePath)
    .filter((p) => !kept.has(p));
  return { edge: { size, levels, bundle: bundle.slice() }, writes: a.writes, superseded };
}

/** ReadTiles reads tiles at their widths, in order, null for one not available (TileSource.read). */
export type ReadTiles = (tiles: readonly Tile[]) => Promise<(Uint8Array | null)[]>;

/**
 * loadEdge reads the right edge of the tree of size leaves with root in one batch and checks that
 * it hashes to root (a checkpoint's tree, whose signature the caller verified). withBundle also
 * reads the partial entry bundle, which a sequencer appends to and a follower does not need. A
 * malformed tile or an edge with another root is a corrupt LogError, a tile not served not_found.
 */
export async function loadEdge(
  read: ReadTiles,
  size: number,
  root: Hash,
  withBundle = false,
): Promise<Edge> {
  const tiles = edgeTiles(size).filter((t) => withBundle || t.level !== ENTRIES);
  const data = await read(tiles);
  const levels: Hash[][] = [];
  for (let level = 0; TILE_WIDTH ** level <= size; level++) levels.push([]);
  let bundle: Uint8Array[] = [];
  tiles.forEach((t, i) => {
    const d = data[i];
    // Only a remote source answers null for a tile its tree holds (a store's is corrupt first).
    if (!d) throw new LogError('not_found', `tiles: right-edge tile ${tilePath(t)} is not served`);
    // Copies: the edge outlives the fetched (or cached) buffers it would otherwise pin.
    if (t.level === ENTRIES) {
      bundle = decodeBundle(d, t.width).map((e) => e.slice());
      return;
    }
    if (d.length !== t.width * HASH_SIZE)
      throw new LogError('corrupt', `tiles: ${tilePath(t)} has the wrong length`);
    for (let j = 0; j < t.width; j++)
      levels[t.level]!.push(d.slice(j * HASH_SIZE, (j + 1) * HASH_SIZE));
  });
  const edge: Edge = size === 0 ? EMPTY_EDGE : { size, levels, bundle };
  if (!equal(edgeRoot(edge), root))
    throw new LogError(
      'corrupt',
      `tiles: right-edge tiles do not hash to the root of checkpoint ${size}`,
    );
  return edge;
}
