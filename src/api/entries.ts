/**
 * GET <prefix>/entries/<index> (#14 item 4): one logged entry with everything a user otherwise
 * works out by hand from tiles: its canonical body, the body decoded (kind, digest, key or
 * certificate), the signed checkpoint it is read against and its inclusion proof in that tree
 * (RFC 6962 §2.1.1, hashes in base64). The body, proof and note all come from one published
 * state, so they agree even while the log grows.
 */
import type { Context } from 'hono';

import { toBase64 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { decodeEntry } from '../explorer/index.ts';
import { parseDecimalSize } from '../note/index.ts';
import type { Log } from '../sequencer/index.ts';
import { decodeBundle, ENTRIES, TILE_WIDTH, tileAt } from '../tiles/index.ts';

/** getEntry answers entries/<index>: 400 for an index that is not decimal, 404 beyond the tree. */
export async function getEntry(c: Context, log: Log): Promise<Response> {
  const index = parseDecimalSize(c.req.param('index') ?? '', 'index');
  const published = log.state;
  const size = published.checkpoint.size;
  if (index >= size)
    throw new LogError('not_found', `entry ${index} is beyond the tree of size ${size}`);
  const tile = tileAt(ENTRIES, Math.floor(index / TILE_WIDTH), size)!;
  const [bundle, hashes] = await Promise.all([
    log.reader.readTile(tile),
    log.reader.proveInclusion(index, size),
  ]);
  // The tile is within the integrated tree (published ≤ integrated): absent means a broken store.
  if (!bundle) throw new Error(`entry bundle of ${index} missing below size ${size}`);
  const body = decodeBundle(bundle, tile.width)[index % TILE_WIDTH]!;
  return c.json({
    index,
    canonicalizedBody: toBase64(body),
    entry: decodeEntry(body),
    checkpoint: published.note,
    inclusionProof: { logIndex: index, treeSize: size, hashes: hashes.map(toBase64) },
  });
}
