/** C2SP tlog-tiles: coordinates, paths, entry bundles, the right edge, and reads from tiles. */
export { checkEntry, decodeBundle, encodeBundle, MAX_ENTRY_SIZE } from './bundle.ts';
export type { Edge, TileWrite } from './edge.ts';
export { appendToEdge, edgeRoot, edgeTiles, EMPTY_EDGE, loadEdge } from './edge.ts';
export { TileHashes } from './hashes.ts';
export type { TileFetcher } from './reader.ts';
export { proveConsistency, proveInclusion, readTreeHash, subtreeHashes } from './reader.ts';
export { DEFAULT_CACHE_BYTES, TileSource } from './source.ts';
export type { Tile } from './tile.ts';
export { bundleForIndex, ENTRIES, parseTilePath, TILE_WIDTH, tileAt, tilePath } from './tile.ts';
