/**
 * Where perfect subtrees live in tiles. A level-L tile holds node hashes of tree level 8L; a
 * subtree of tree level 8L + r (0 ≤ r < 8) is the perfect subtree over 2^r consecutive hashes of
 * one level-L tile, so any hash a proof needs comes from exactly one tile.
 */
import { assert } from '../errors.ts';
import { type Hash, HASH_SIZE, nodeHash, type Subtree } from '../merkle/index.ts';
import { type Tile, TILE_WIDTH, tileWidth } from './tile.ts';

/**
 * TileHashes is a hash tile's contents, with the perfect subtrees inside it computed on demand,
 * each once. A wider version of the same tile (the tile grown by a commit) can take over the
 * subtrees already computed (widen), as a tile only grows at its end: the partial tiles a commit
 * writes then cost the new hashes, not the whole tile again, for each commit's proofs.
 */
export class TileHashes {
  readonly width: number;
  readonly data: Uint8Array;
  // levels[r][j] is the hash of the perfect subtree of 2^r tile hashes starting at j·2^r, once
  // computed (levels[0] holds views of data).
  private readonly levels: Hash[][];

  constructor(data: Uint8Array, levels: Hash[][] = [[]]) {
    assert(data.length % HASH_SIZE === 0, 'tiles: tile data is not whole hashes');
    this.data = data;
    this.width = data.length / HASH_SIZE;
    this.levels = levels;
  }

  /**
   * widen returns the TileHashes of wider, a later version of this tile (its first bytes are
   * this tile's: the caller's promise). The two share the subtrees computed so far and those
   * computed later: a subtree complete in both has the same hash in both.
   */
  widen(wider: Uint8Array): TileHashes {
    assert(wider.length >= this.data.length, 'tiles: a tile narrower than before');
    return new TileHashes(wider, this.levels);
  }

  /** subtree returns the hash of the 2^r tile hashes starting at position pos (pos aligned to 2^r). */
  subtree(r: number, pos: number): Hash {
    const j = pos >> r;
    assert(pos % (1 << r) === 0 && (j + 1) << r <= this.width, 'tiles: subtree outside its tile');
    return this.node(r, j);
  }

  private node(r: number, j: number): Hash {
    const level = (this.levels[r] ??= []);
    let h = level[j];
    if (h === undefined) {
      h =
        r === 0
          ? this.data.subarray(j * HASH_SIZE, (j + 1) * HASH_SIZE)
          : nodeHash(this.node(r - 1, 2 * j), this.node(r - 1, 2 * j + 1));
      level[j] = h;
    }
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
