// An in-memory tiled tree for tests: entries appended through the real edge code in batches,
// every written tile kept by path, and a TileFetcher over them that counts its batched reads.
import { leafHash } from '../../src/merkle/index.ts';
import {
  appendToEdge,
  type Edge,
  EMPTY_EDGE,
  type TileFetcher,
  TileSource,
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

  // The project's own tile source, without a cache, so that every read reaches the objects and
  // is counted; it reads the newest version of each tile, as a log's store does.
  private readonly source = new TileSource({
    capacityBytes: 0,
    size: () => this.edge.size,
    fetch: async (paths) => {
      this.fetches++;
      return paths.map((p) => this.objects.get(p) ?? null);
    },
  });

  readonly fetch: TileFetcher = (tiles) => this.source.fetchHashes(tiles);
}

export function entry(i: number): Uint8Array {
  return new TextEncoder().encode(`entry ${i}`);
}
