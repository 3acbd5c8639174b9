/**
 * The tlog-tiles read endpoints (C2SP tlog-tiles, HEAD 5ba5ee8): the checkpoint, hash tiles and
 * entry bundles, with the content types and caching headers the spec asks for. They are the hot
 * path, so a request does no work beyond finding bytes: every tile or bundle the reader's cache
 * holds, and the checkpoint of each publication, is kept as a ready answer (body, headers, a
 * strong ETag), and `If-None-Match` with that ETag is answered 304 with no body.
 */
import { gzipSync } from 'node:zlib';

import type { Context } from 'hono';

import { toHex } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { LogError } from '../errors.ts';
import type { Log, Published } from '../sequencer/index.ts';
import { ENTRIES, parseTilePath, type Tile, TILE_WIDTH } from '../tiles/index.ts';
import { errorResponse } from './errors.ts';

/** CHECKPOINT_MAX_AGE is how long the checkpoint may be cached: "not beyond a few seconds". */
export const CHECKPOINT_MAX_AGE = 2;

/**
 * PARTIAL_MAX_AGE is how long a partial tile may be cached. Its bytes never change either, but it
 * is not immutable: the log may stop serving it once the full tile exists (tlog-tiles, "Partial
 * Tiles"), and it may be beyond the published checkpoint. Caches revalidate it with its ETag.
 */
export const PARTIAL_MAX_AGE = 60;

const IMMUTABLE = 'public, max-age=31536000, immutable';
// The read paths answer any origin (cors.ts); these routes are mounted ahead of that middleware,
// so their ready headers carry it themselves.
const CORS = 'Access-Control-Allow-Origin';

/** Ready is one representation of a resource as sent: body and headers built once. */
interface Ready {
  readonly body: Uint8Array;
  readonly etag: string;
  readonly ok: Readonly<Record<string, string>>;
  readonly notModified: Readonly<Record<string, string>>;
}

function ready(body: Uint8Array, etag: string, fixed: Record<string, string>): Ready {
  const validators: Record<string, string> = { ...fixed, ETag: etag, [CORS]: '*' };
  delete validators['Content-Type'];
  delete validators['Content-Encoding'];
  return {
    body,
    etag,
    ok: Object.freeze({ ...fixed, ETag: etag, 'Content-Length': String(body.length), [CORS]: '*' }),
    notModified: Object.freeze(validators),
  };
}

// A strong validator from the bytes themselves: a path's bytes never change, but a different log
// (or a rebuilt one) served at the same URL must not be mistaken for this one.
function etagOf(body: Uint8Array, suffix = ''): string {
  return `"${toHex(sha256(body).subarray(0, 16))}${suffix}"`;
}

// RFC 9110 §13.1.2: If-None-Match is "*" or a list of entity tags, compared weakly.
function matches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag) return true;
  for (const t of ifNoneMatch.split(',')) {
    const tag = t.trim();
    if (tag === '*' || tag === etag || tag === `W/${etag}`) return true;
  }
  return false;
}

// A request header without building the whole Headers object: on @hono/node-server the Node
// request is at hand (c.env.incoming), elsewhere (tests, other runtimes) the standard one is.
function header(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: { headers: Record<string, unknown> } } | undefined)
    ?.incoming;
  if (incoming) {
    const v = incoming.headers[name];
    return typeof v === 'string' ? v : undefined;
  }
  return c.req.header(name);
}

function answer(c: Context, r: Ready): Response {
  const inm = header(c, 'if-none-match');
  if (inm !== undefined && matches(inm, r.etag))
    return new Response(null, { status: 304, headers: r.notModified });
  return new Response(r.body as Uint8Array<ArrayBuffer>, { status: 200, headers: r.ok });
}

// The ready answers of each publication: a new Published object is made for every publication
// (publisher.ts, mirror reloads), so the cache lives exactly until the next one.
const checkpoints = new WeakMap<Published, Ready>();

/** getCheckpoint serves the published checkpoint. */
export function getCheckpoint(c: Context, log: Log): Response {
  const published = log.state;
  let r = checkpoints.get(published);
  if (!r) {
    const body = new TextEncoder().encode(published.note);
    r = ready(body, etagOf(body), {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': `public, max-age=${CHECKPOINT_MAX_AGE}`,
    });
    checkpoints.set(published, r);
  }
  return answer(c, r);
}

// The ready answers of a tile, keyed by the bytes the reader's cache holds, and dropped with them.
// Entry bundles "SHOULD be compressed at the HTTP layer" (tlog-tiles): a gzip variant too.
interface ReadyTile {
  readonly fixed: Readonly<Record<string, string>>;
  readonly plain: Ready;
  gzip?: Ready;
}
const tiles = new WeakMap<Uint8Array, ReadyTile>();

function readyTile(t: Tile, data: Uint8Array): ReadyTile {
  let r = tiles.get(data);
  if (!r) {
    const fixed: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Cache-Control': t.width === TILE_WIDTH ? IMMUTABLE : `public, max-age=${PARTIAL_MAX_AGE}`,
    };
    if (t.level === ENTRIES) fixed['Vary'] = 'Accept-Encoding';
    r = { fixed, plain: ready(data, etagOf(data), fixed) };
    tiles.set(data, r);
  }
  return r;
}

function answerTile(c: Context, t: Tile, data: Uint8Array): Response {
  const r = readyTile(t, data);
  if (t.level !== ENTRIES || !/\bgzip\b/.test(header(c, 'accept-encoding') ?? ''))
    return answer(c, r.plain);
  r.gzip ??= ready(new Uint8Array(gzipSync(data)), etagOf(data, '-gzip'), {
    ...r.fixed,
    'Content-Encoding': 'gzip',
  });
  return answer(c, r.gzip);
}

function failed(c: Context, err: unknown): Response {
  c.header(CORS, '*');
  return errorResponse(c, err);
}

// Tile paths parsed, by path: a hot tile is asked for over and over, and parsing its path (a
// regex and the round trip through tilePath) cost as much as the rest of a cached answer. Only
// valid paths are kept, and at most MAX_PARSED of them: paths come from clients.
const parsed = new Map<string, Tile>();
const MAX_PARSED = 4096;

function parseCached(path: string): Tile {
  let t = parsed.get(path);
  if (t === undefined) {
    t = parseTilePath(path);
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(path, t);
  }
  return t;
}

/**
 * getTile serves tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>]; one beyond the integrated
 * tree is a 404. A tile the reader's cache holds is answered at once, with no I/O.
 */
export function getTile(c: Context, log: Log, path: string): Response | Promise<Response> {
  let t: Tile;
  try {
    t = parseCached(path);
  } catch (err) {
    return failed(c, err);
  }
  const hit = log.reader.cached(t);
  return hit ? answerTile(c, t, hit) : readTile(c, log, t, path);
}

async function readTile(c: Context, log: Log, t: Tile, path: string): Promise<Response> {
  try {
    const data = await log.reader.readTile(t);
    if (!data) {
      const size = log.state.checkpoint.size;
      throw new LogError('not_found', `${path} is beyond the tree of size ${size}`);
    }
    return answerTile(c, t, data);
  } catch (err) {
    return failed(c, err);
  }
}
