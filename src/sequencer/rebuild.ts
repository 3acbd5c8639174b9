/**
 * rebuild streams a stored log back through the edge code: it reads the entry bundles of a tree
 * of `size` in chunks, rebuilds every tile from the entries, and checks each hash tile the tree
 * of that size holds against the store. fsck and migrate are both this walk.
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { type Hash, leafHash } from '../merkle/index.ts';
import type { LogStore } from '../storage/index.ts';
import {
  appendToEdge,
  decodeBundle,
  type Edge,
  EMPTY_EDGE,
  ENTRIES,
  TILE_WIDTH,
  tileAt,
  TileSource,
  type TileWrite,
} from '../tiles/index.ts';

/** RebuiltChunk is one step of the walk: its leaf hashes and the tiles of the final tree it made. */
export interface RebuiltChunk {
  /** before is the tree size before this chunk. */
  readonly before: number;
  readonly edge: Edge;
  readonly hashes: readonly Hash[];
  /** final holds the bundles and tiles of the tree of `size` this chunk completes (verified). */
  readonly final: readonly TileWrite[];
}

const CHUNK = 64; // bundles per step

/** rebuild walks the log in store up to size, verifying hash tiles as it goes. */
export async function* rebuild(store: LogStore, size: number): AsyncGenerator<RebuiltChunk> {
  // Every object is read once, so nothing is cached; a tile missing from the store is corrupt.
  const source = new TileSource({
    fetch: (p) => store.getMany(p),
    size: () => size,
    capacityBytes: 0,
  });
  const bundles = Math.ceil(size / TILE_WIDTH);
  let edge = EMPTY_EDGE;
  for (let first = 0; first < bundles; first += CHUNK) {
    const wanted = [];
    for (let n = first; n < Math.min(bundles, first + CHUNK); n++)
      wanted.push(tileAt(ENTRIES, n, size)!);
    const data = await source.read(wanted);
    const entries: Uint8Array[] = [];
    wanted.forEach((t, i) => entries.push(...decodeBundle(data[i]!, t.width)));
    const before = edge.size;
    const hashes = entries.map(leafHash);
    const r = appendToEdge(edge, entries, hashes);
    edge = r.edge;
    const final = r.writes.filter(
      (w) => tileAt(w.tile.level, w.tile.n, size)?.width === w.tile.width,
    );
    const hashTiles = final.filter((w) => w.tile.level !== ENTRIES);
    const stored = await source.read(hashTiles.map((w) => w.tile));
    hashTiles.forEach((w, i) => {
      if (!stored[i] || !equal(stored[i]!, w.data))
        throw new LogError('corrupt', `${w.path} does not match the entries`);
    });
    yield { before, edge, hashes, final };
  }
}
