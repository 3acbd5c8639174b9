/** C2SP tlog-tiles: coordinates, paths, entry bundles, the right edge, and reads from tiles. */
export {
  ENTRIES,
  MAX_LEVEL,
  TILE_WIDTH,
  bundleForIndex,
  formatIndex,
  parseTilePath,
  tileAt,
  tilePath,
  tileWidth,
} from './tile.ts';
export type { Tile } from './tile.ts';
export { MAX_ENTRY_SIZE, checkEntry, decodeBundle, encodeBundle, narrowTile } from './bundle.ts';
export { TileHashes, locateSubtree } from './hashes.ts';
export { EMPTY_EDGE, appendToEdge, edgeRoot, edgeTiles } from './edge.ts';
export type { Edge, TileWrite } from './edge.ts';
export {
  planTiles,
  proveConsistency,
  proveInclusion,
  readTreeHash,
  subtreeHashes,
} from './reader.ts';
export type { TileFetcher } from './reader.ts';
