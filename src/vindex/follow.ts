/**
 * Reading the input log in verified chunks, for the indexer and for `index verify`: a chunk's
 * entries are handed out only after they are proved part of the input checkpoint (the last
 * chunk: they hash to its root; earlier ones: a consistency proof from tiles shows the chunk's
 * tree is a prefix of the checkpoint's). Entry bundles of a chunk are fetched in parallel.
 */
import { equal } from '../bytes.ts';
import type { TlogClient } from '../client/index.ts';
import { LogError } from '../errors.ts';
import { leafHash } from '../merkle/index.ts';
import type { Checkpoint } from '../note/index.ts';
import {
  appendToEdge,
  decodeBundle,
  type Edge,
  edgeRoot,
  ENTRIES,
  type Tile,
  TILE_WIDTH,
  tileAt,
} from '../tiles/index.ts';

/** Chunk is a run of verified consecutive input entries and the edge after them. */
export interface Chunk {
  readonly entries: { index: number; entry: Uint8Array }[];
  readonly edge: Edge;
}

/** checkPrefix proves from tiles that the tree edge ends is a prefix of cp's, or throws 'corrupt'. */
export async function checkPrefix(input: TlogClient, edge: Edge, cp: Checkpoint): Promise<void> {
  if (edge.size === 0) return;
  const prefix: Checkpoint = { ...cp, size: edge.size, root: edgeRoot(edge), extensions: [] };
  await input.checkConsistent(prefix, cp);
}

/**
 * readChunk reads the entries after edge up to at most `chunk` entries (ending on a bundle
 * boundary or at cp.size), or up to exactly `until` when given (at most cp.size), and verifies them
 * against cp before returning them.
 */
export async function readChunk(
  input: TlogClient,
  edge: Edge,
  cp: Checkpoint,
  chunk: number,
  until?: number,
): Promise<Chunk> {
  if (cp.size < edge.size)
    throw new LogError('corrupt', `index: the input log shrank below ${edge.size}`);
  const first = Math.floor(edge.size / TILE_WIDTH);
  const end = Math.min(cp.size, until ?? first * TILE_WIDTH + Math.max(chunk, TILE_WIDTH));
  const tiles: Tile[] = [];
  for (let n = first; n * TILE_WIDTH < end; n++) tiles.push(tileAt(ENTRIES, n, cp.size)!);
  const bundles = await Promise.all(tiles.map((t) => input.tile(t)));
  const all = bundles.flatMap((b, i) => decodeBundle(b, tiles[i]!.width));
  const fresh = all.slice(edge.size - first * TILE_WIDTH, end - first * TILE_WIDTH);
  // The stored edge keeps no bundle; appendToEdge needs the partial bundle's entries, read here.
  const full = { ...edge, bundle: all.slice(0, edge.size - first * TILE_WIDTH) };
  const next = { ...appendToEdge(full, fresh, fresh.map(leafHash)).edge, bundle: [] };
  if (next.size < cp.size) await checkPrefix(input, next, cp);
  else if (!equal(edgeRoot(next), cp.root))
    throw new LogError('corrupt', `index: input entries do not hash to checkpoint ${cp.size}`);
  return { entries: fresh.map((entry, i) => ({ index: edge.size + i, entry })), edge: next };
}
