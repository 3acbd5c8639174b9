/**
 * Where perfect subtrees live in tiles. A level-L tile holds node hashes of tree level 8L; a
 * subtree of tree level 8L + r (0 ≤ r < 8) is the perfect subtree over 2^r consecutive hashes of
 * one level-L tile, so any hash a proof needs comes from exactly one tile.
 */
import { assert } from '../errors.ts';
import { type Hash, HASH_SIZE, nodeHash, type Subtree } from '../merkle/index.ts';
import { type Tile, TILE_WIDTH, tileWidth } from './tile.ts';

/** TileHashes is a hash tile's contents, with the perfect subtrees inside it computed on demand. */
export class TileHashes {
  readonly width: number;
  readonly data: Uint8Array;
  // levels[r][j] is the hash of the perfect subtree of 2^r tile hashes starting at j·2^r.
  private readonly levels: Hash[][];

  constructor(data: Uint8Array) {
    assert(data.length % HASH_SIZE === 0, 'tiles: tile data is not whole hashes');
    this.data = data;
    this.width = data.length / HASH_SIZE;
    const bottom: Hash[] = [];
    for (let i = 0; i < this.width; i++) {
      bottom.push(data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    }
    this.levels = [bottom];
  }

  /** subtree returns the hash of the 2^r tile hashes starting at position pos (pos aligned to 2^r). */
  subtree(r: number, pos: number): Hash {
    while (this.levels.length <= r) {
      const below = this.levels[this.levels.length - 1]!;
      const next: Hash[] = [];
      for (let j = 0; j + 1 < below.length; j += 2) next.push(nodeHash(below[j]!, below[j + 1]!));
      this.levels.push(next);
    }
    const h = this.levels[r]![pos >> r];
    assert(h !== undefined && pos % (1 << r) === 0, 'tiles: subtree outside its tile');
    return h;
  }
}

/** SubtreeLocation says which tile a subtree comes from and where in it. */
export interface SubtreeLocation {
  readonly tile: Tile;
  readonly r: number;
  readonly pos: number;
}

/**
 * locateSubtree returns the tile (as it is in a tree of size leaves) that holds subtree s. The
 * subtree must be complete in that tree.
 */
export function locateSubtree(s: Subtree, size: number): SubtreeLocation {
  const level = Math.floor(s.level / 8);
  const r = s.level - 8 * level;
  const first = s.index * 2 ** r; // index of its first hash at tree level 8·level
  const n = Math.floor(first / TILE_WIDTH);
  const pos = first - n * TILE_WIDTH;
  const width = tileWidth(level, n, size);
  assert(pos + 2 ** r <= width, 'tiles: subtree is not complete in the tree');
  return { tile: { level, n, width }, r, pos };
}
