// Independent checks of a whole log, used after crashes and faults: rebuild every tile from the
// entry bundles and compare byte for byte, and check the root against the checkpoint.
import { expect } from 'vitest';

import { equal } from '../../src/bytes.ts';
import { leafHash } from '../../src/merkle/index.ts';
import { type NoteVerifier, openNote, parseCheckpoint } from '../../src/note/index.ts';
import {
  appendToEdge,
  decodeBundle,
  edgeRoot,
  EMPTY_EDGE,
  ENTRIES,
  TILE_WIDTH,
  tileAt,
  tilePath,
} from '../../src/tiles/index.ts';
import { mth } from '../reference/rfc6962.ts';

export type ReadTile = (path: string) => Promise<Uint8Array | null>;

/** verifyLog checks the log behind a checkpoint note and returns its entries in order. */
export async function verifyLog(
  note: string,
  verifier: NoteVerifier,
  read: ReadTile,
  naive = false,
): Promise<Uint8Array[]> {
  const cp = parseCheckpoint(openNote(note, [verifier]).text);
  const entries: Uint8Array[] = [];
  for (let n = 0; n * TILE_WIDTH < cp.size; n++) {
    const t = tileAt(ENTRIES, n, cp.size)!;
    const data = await read(tilePath(t));
    expect(data, tilePath(t)).not.toBeNull();
    entries.push(...decodeBundle(data!, t.width));
  }
  const { edge, writes } = appendToEdge(EMPTY_EDGE, entries, entries.map(leafHash));
  expect(equal(edgeRoot(edge), cp.root)).toBe(true);
  if (naive) expect(equal(mth(entries), cp.root)).toBe(true);
  // Every tile of the final tree (full tiles, and the partial ones at this size) is as rebuilt.
  for (const w of writes) {
    const final = tileAt(w.tile.level, w.tile.n, cp.size)!;
    if (final.width !== w.tile.width) continue; // an intermediate partial, superseded in the rebuild
    const got = await read(w.path);
    expect(got && equal(got, w.data), w.path).toBe(true);
  }
  return entries;
}
