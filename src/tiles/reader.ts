/**
 * Tree hashes and proofs computed from tiles, in three steps (plan, one batched read, compute),
 * as golang.org/x/mod/sumdb/tlog does. TileFetcher is the only seam to storage or the network.
 */
import { assert, LogError } from '../errors.ts';
import {
  buildProof,
  consistencyRanges,
  type Hash,
  inclusionRanges,
  proofSubtrees,
  type Range,
  type Subtree,
} from '../merkle/index.ts';
import { locateSubtree, type TileHashes } from './hashes.ts';
import { type Tile, tilePath } from './tile.ts';

/**
 * TileFetcher returns the given hash tiles, in order, at exactly the widths asked for: as a
 * promise, or at once when it holds them all (a cache). It must return one TileHashes per tile
 * or throw (or reject); a tile that is missing is a not_found LogError.
 */
export type TileFetcher = (tiles: readonly Tile[]) => TileHashes[] | Promise<TileHashes[]>;

/** subtreeHashes reads the hashes of subtrees in a tree of size with a single fetch. */
export async function subtreeHashes(
  fetch: TileFetcher,
  subtrees: readonly Subtree[],
  size: number,
): Promise<Hash[]> {
  return readSubtrees(fetch, subtrees, size);
}

// readSubtrees is subtreeHashes, computed at once when the fetcher answers at once: a write's
// proof from cached tiles then costs one promise (its caller's), not one per step.
function readSubtrees(
  fetch: TileFetcher,
  subtrees: readonly Subtree[],
  size: number,
): Hash[] | Promise<Hash[]> {
  const locs = subtrees.map((s) => locateSubtree(s, size));
  const tiles: Tile[] = [];
  // which[i] is the tile of locs[i], as an index into tiles. A plan's subtrees lie in a few tiles
  // (a proof's in about two per tile level), so a scan costs less than a string key for each.
  const which = locs.map(({ tile: t }) => {
    for (let i = 0; i < tiles.length; i++) {
      const u = tiles[i]!;
      if (u.n === t.n && u.level === t.level && u.width === t.width) return i;
    }
    return tiles.push(t) - 1;
  });
  const pick = (got: TileHashes[]): Hash[] => {
    assert(got.length === tiles.length, `tiles: fetched ${got.length} tiles, want ${tiles.length}`);
    tiles.forEach((t, i) => {
      if (got[i]!.width !== t.width)
        throw new LogError('corrupt', `tiles: ${tilePath(t)} has ${got[i]!.width} hashes`);
    });
    return locs.map((l, i) => got[which[i]!]!.subtree(l.r, l.pos));
  };
  const got = fetch(tiles);
  return Array.isArray(got) ? pick(got) : got.then(pick);
}

function proofFromRanges(
  fetch: TileFetcher,
  ranges: Range[],
  size: number,
): Hash[] | Promise<Hash[]> {
  const hashes = readSubtrees(fetch, proofSubtrees(ranges), size);
  return Array.isArray(hashes)
    ? buildProof(ranges, hashes)
    : hashes.then((h) => buildProof(ranges, h));
}

/** readTreeHash computes the root of the tree of size leaves from its tiles. */
export async function readTreeHash(fetch: TileFetcher, size: number): Promise<Hash> {
  const [root] = await proofFromRanges(fetch, [{ begin: 0, end: size }], size);
  return root!;
}

/** proveInclusion returns the inclusion proof of leaf index in the tree of size leaves. */
export async function proveInclusion(
  fetch: TileFetcher,
  index: number,
  size: number,
): Promise<Hash[]> {
  if (!(index >= 0 && index < size)) {
    throw new LogError('bad_request', `tiles: index ${index} is not below tree size ${size}`);
  }
  return proofFromRanges(fetch, inclusionRanges(index, size), size);
}

/** proveConsistency returns the consistency proof from size1 to size2 (empty when equal or size1 = 0). */
export async function proveConsistency(
  fetch: TileFetcher,
  size1: number,
  size2: number,
): Promise<Hash[]> {
  if (!(size1 >= 0 && size1 <= size2)) {
    throw new LogError('bad_request', `tiles: first size ${size1} is above last size ${size2}`);
  }
  if (size1 === 0 || size1 === size2) return [];
  return proofFromRanges(fetch, consistencyRanges(size1, size2), size2);
}
