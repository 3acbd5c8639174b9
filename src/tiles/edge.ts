/**
 * The right edge of a tiled tree: for each level, the hashes of its rightmost, partial tile, and
 * the entries of the partial entry bundle. That is all a sequencer needs to append (O(log n)
 * memory, never the tree), and appending is pure: it returns a new edge and the tiles to write,
 * leaving the old edge valid if the commit that would publish them fails.
 */
import { concat, equal } from '../bytes.ts';
import { assert, LogError } from '../errors.ts';
import { balancedRoot, foldRight, type Hash, HASH_SIZE } from '../merkle/index.ts';
import { decodeBundle, encodeBundle } from './bundle.ts';
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
  for (let level = edge.levels.length - 1; level >= 0; level--) {
    const hashes = edge.levels[level]!;
    let pos = 0;
    for (let width = 128; width >= 1; width /= 2) {
      if (hashes.length & width) {
        subtrees.push(balancedRoot(hashes.slice(pos, pos + width)));
        pos += width;
      }
    }
  }
  return foldRight(subtrees);
}

/**
 * appendToEdge appends entries (with their leaf hashes) to edge. It returns the new edge and the
 * tiles and bundles to write: every tile that filled, and the new partial tile of every level that
 * changed. superseded lists the paths of partial tiles the new ones replace.
 */
export function appendToEdge(
  edge: Edge,
  entries: readonly Uint8Array[],
  hashes: readonly Hash[],
): { edge: Edge; writes: TileWrite[]; superseded: string[] } {
  assert(entries.length === hashes.length, 'tiles: one hash per entry');
  const levels = edge.levels.map((l) => l.slice());
  let bundle = edge.bundle.slice();
  const writes: TileWrite[] = [];
  const changed = new Set<number>();
  let size = edge.size;

  const put = (tile: Tile, data: Uint8Array) => writes.push({ tile, path: tilePath(tile), data });
  const push = (level: number, h: Hash, index: number) => {
    changed.add(level);
    const tile = (levels[level] ??= []);
    tile.push(h);
    if (tile.length < TILE_WIDTH) return;
    const n = Math.floor(index / TILE_WIDTH);
    put({ level, n, width: TILE_WIDTH }, concat(...tile));
    levels[level] = [];
    push(level + 1, balancedRoot(tile), n);
  };

  for (let i = 0; i < entries.length; i++) {
    bundle.push(entries[i]!);
    if (bundle.length === TILE_WIDTH) {
      put(
        { level: ENTRIES, n: Math.floor(size / TILE_WIDTH), width: TILE_WIDTH },
        encodeBundle(bundle),
      );
      bundle = [];
    }
    push(0, hashes[i]!, size);
    size++;
  }

  if (entries.length > 0 && bundle.length > 0) {
    put(
      { level: ENTRIES, n: Math.floor(size / TILE_WIDTH), width: bundle.length },
      encodeBundle(bundle),
    );
  }
  for (const level of changed) {
    const hashesAt = levels[level]!;
    if (hashesAt.length === 0) continue;
    const n = Math.floor(size / TILE_WIDTH ** (level + 1));
    put({ level, n, width: hashesAt.length }, concat(...hashesAt));
  }
  const kept = new Set(edgeTiles(size).map(tilePath));
  const superseded = edgeTiles(edge.size)
    .map(tilePath)
    .filter((p) => !kept.has(p));
  return { edge: { size, levels, bundle }, writes, superseded };
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
