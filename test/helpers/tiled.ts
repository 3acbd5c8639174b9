// An in-memory tiled tree for tests: entries appended through the real edge code in batches,
// every written tile kept by path, and a TileFetcher over them that counts its calls.
import { leafHash } from '../../src/merkle/index.ts';
import {
  appendToEdge,
  type Edge,
  EMPTY_EDGE,
  narrowTile,
  type Tile,
  type TileFetcher,
  TileHashes,
  tilePath,
} from '../../src/tiles/index.ts';

export class TiledTree {
  edge: Edge = EMPTY_EDGE;
  readonly objects = new Map<string, Uint8Array>();
  fetches = 0;

  append(entries: Uint8Array[]): void {
    const r = appendToEdge(this.edge, entries, entries.map(leafHash));
    for (const w of r.writes) this.objects.set(w.path, w.data);
    this.edge = r.edge;
  }

  readonly fetch: TileFetcher = async (tiles: readonly Tile[]) => {
    this.fetches++;
    return tiles.map((t) => {
      // A tile of an older size is a prefix of the current one (full, or the widest partial).
      let data = this.objects.get(tilePath(t));
      for (let w = 256; !data && w > t.width; w--) {
        const wider = this.objects.get(tilePath({ ...t, width: w }));
        if (wider) data = narrowTile({ ...t, width: w }, wider, t.width);
      }
      if (!data) throw new Error(`missing ${tilePath(t)}`);
      return new TileHashes(data);
    });
  };
}

export function entry(i: number): Uint8Array {
  return new TextEncoder().encode(`entry ${i}`);
}
