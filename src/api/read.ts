/**
 * The tlog-tiles read endpoints (C2SP tlog-tiles, HEAD 5ba5ee8): the checkpoint, hash tiles and
 * entry bundles, with the content types and caching headers the spec asks for.
 */
import { gzipSync } from 'node:zlib';

import type { Context } from 'hono';

import { LogError } from '../errors.ts';
import type { Log } from '../sequencer/index.ts';
import { ENTRIES, parseTilePath } from '../tiles/index.ts';

// Entry bundles "SHOULD be compressed at the HTTP layer" (tlog-tiles): gzip when the client
// accepts it. A path's bytes never change, so each compressed body is kept beside the bytes the
// tile cache holds, and dropped with them.
const gzipped = new WeakMap<Uint8Array, Uint8Array>();

function acceptsGzip(c: Context): boolean {
  return /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
}

/** CHECKPOINT_MAX_AGE is how long the checkpoint may be cached: "not beyond a few seconds". */
export const CHECKPOINT_MAX_AGE = 2;

/** getCheckpoint serves the last committed checkpoint. */
export function getCheckpoint(c: Context, log: Log): Response {
  c.header('Content-Type', 'text/plain; charset=utf-8');
  c.header('Cache-Control', `public, max-age=${CHECKPOINT_MAX_AGE}`);
  return c.body(log.state.note);
}

/**
 * getTile serves tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>]. A path's bytes never change,
 * so every tile that exists is immutable; one beyond the published tree is a 404.
 */
export async function getTile(c: Context, log: Log, path: string): Promise<Response> {
  const tile = parseTilePath(path);
  const data = await log.reader.readTile(tile);
  if (!data)
    throw new LogError(
      'not_found',
      `${path} is beyond the tree of size ${log.state.checkpoint.size}`,
    );
  c.header('Content-Type', 'application/octet-stream');
  c.header('Cache-Control', 'public, max-age=31536000, immutable');
  if (tile.level === ENTRIES) {
    c.header('Vary', 'Accept-Encoding');
    if (acceptsGzip(c)) {
      let gz = gzipped.get(data);
      if (!gz) gzipped.set(data, (gz = new Uint8Array(gzipSync(data))));
      c.header('Content-Encoding', 'gzip');
      return c.body(gz as Uint8Array<ArrayBuffer>);
    }
  }
  return c.body(data as Uint8Array<ArrayBuffer>);
}
