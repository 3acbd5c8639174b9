// Real tlog-tiles tiles from Sunlight's testdata: reading them through our tile reader must give
// the root of the size-300 checkpoint they were published with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { equal } from '../../src/bytes.ts';
import { checkInclusion } from '../../src/merkle/index.ts';
import { parseCheckpoint, splitNote } from '../../src/note/index.ts';
import { TileHashes } from '../../src/tiles/hashes.ts';
import { proveInclusion, readTreeHash, type Tile, tilePath } from '../../src/tiles/index.ts';

const DIR =
  'spec-vectors/FiloSottile-sunlight/cmd/skylight/testdata/witness/mirror/000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706';

describe('Sunlight mirror tiles (size 300)', () => {
  const cp = parseCheckpoint(splitNote(readFileSync(join(DIR, 'checkpoint'), 'utf8'))!.text);
  const fetch = async (tiles: readonly Tile[]) =>
    tiles.map((t) => new TileHashes(new Uint8Array(readFileSync(join(DIR, tilePath(t))))));

  it('rebuilds the checkpoint root from the tiles', async () => {
    expect(cp.size).toBe(300);
    expect(equal(await readTreeHash(fetch, cp.size), cp.root)).toBe(true);
  });

  it('proves inclusion of leaves against that root', async () => {
    const level0 = new Uint8Array(readFileSync(join(DIR, 'tile/0/001.p/44')));
    for (const index of [0, 1, 255, 256, 299]) {
      const proof = await proveInclusion(fetch, index, cp.size);
      const tile = index < 256 ? new Uint8Array(readFileSync(join(DIR, 'tile/0/000'))) : level0;
      const leaf = tile.subarray((index % 256) * 32, (index % 256) * 32 + 32);
      checkInclusion(index, cp.size, leaf, proof, cp.root);
    }
  });
});
