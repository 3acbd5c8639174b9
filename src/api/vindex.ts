/**
 * The verifiable index's routes, under the index prefix: `lookup` by digest, key, SAN, issuer or
 * issuer and SAN, `lookup/<key hash hex>`, and the output log's `checkpoint` and `tile/…`.
 * Lookup parameters are parsed strictly; a malformed one is a 400 with the reason. The map
 * function's counts are gauges in /metrics, read from the committed index state when scraped.
 */
import { type Context, Hono } from 'hono';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

import { fromHex } from '../bytes.ts';
import { badRequest } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import type { Log } from '../sequencer/index.ts';
import {
  digestKey,
  type Indexer,
  issuerKey,
  issuerSanKey,
  keyHash,
  MAX_PAGE,
  PROBLEMS,
  sanKey,
} from '../vindex/index.ts';
import { readCors } from './cors.ts';
import { errorResponse } from './errors.ts';
import { getCheckpoint, getTile } from './read.ts';

/** IndexRoutes is an index to serve: its indexer, its output log and where. */
export interface IndexRoutes {
  readonly prefix: string;
  readonly indexer: Indexer;
  readonly output: Log;
}

const DIGEST = /^(sha256|sha384|sha512):([0-9a-f]+)$/;
const SIZES: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const MAX_VALUE = 4096;

function hexDigest(v: string, what: string): [string, Uint8Array] {
  const m = DIGEST.exec(v);
  if (!m || m[2]!.length !== SIZES[m[1]!])
    throw badRequest(`${what} must be sha256:<64 lowercase hex> (or sha384:, sha512:)`);
  return [m[1]!, fromHex(m[2]!)!];
}

/** queryKey turns lookup parameters into the typed key string they name (README table). */
export function queryKey(q: Record<string, string | undefined>): string {
  const names = Object.keys(q).filter((k) => !['start', 'limit', 'since'].includes(k));
  for (const n of names)
    if (!['digest', 'key', 'san', 'issuer'].includes(n))
      throw badRequest(`unknown lookup parameter ${JSON.stringify(n.slice(0, 40))}`);
  for (const n of names)
    if ((q[n] ?? '') === '' || q[n]!.length > MAX_VALUE)
      throw badRequest(`${n} must be 1 to ${MAX_VALUE} characters`);
  const { digest, key, san, issuer } = q;
  const one = (ok: boolean) => {
    if (!ok) throw badRequest('give exactly one of digest, key, san, issuer, or issuer with san');
  };
  if (digest !== undefined) {
    one(names.length === 1);
    return digestKey(...hexDigest(digest, 'digest'));
  }
  if (key !== undefined) {
    one(names.length === 1);
    if (hexDigest(key, 'key')[0] !== 'sha256')
      throw badRequest('key must be sha256:<hex of SHA-256 of the DER SPKI>');
    return `key:${key}`;
  }
  if (issuer !== undefined && san !== undefined) {
    one(names.length === 2);
    return issuerSanKey(issuer, san);
  }
  one(names.length === 1);
  return issuer !== undefined ? issuerKey(issuer) : sanKey(san!);
}

function count(v: string | undefined, what: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || Number(v) > max)
    throw badRequest(`${what} must be a decimal integer from 0 to ${max}`);
  return Number(v);
}

async function answer(c: Context, ix: IndexRoutes, key: Hash): Promise<Response> {
  const start = count(c.req.query('start'), 'start', Number.MAX_SAFE_INTEGER);
  const limit = count(c.req.query('limit'), 'limit', MAX_PAGE);
  if (limit === 0) throw badRequest(`limit must be from 1 to ${MAX_PAGE}`);
  const since = count(c.req.query('since'), 'since', Number.MAX_SAFE_INTEGER);
  const a = await ix.indexer.lookup(key, { start, limit, since });
  c.header('Cache-Control', 'no-store');
  return c.json(a);
}

/**
 * watchIndex adds the index's gauges to registry: entries indexed, keys, entries mapped to no
 * key, problems by reason (an entry may have several), revisions and the input size covered.
 */
export function watchIndex(registry: Registry, indexer: Indexer): void {
  const r = [registry];
  const counts = () => indexer.state.counts;
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: r,
      collect() {
        this.set(read());
      },
    });
  gauge('tilelog_index_entries', 'Input entries the map covers.', () => counts().entries);
  gauge('tilelog_index_keys', 'Distinct keys in the map.', () => counts().keys);
  gauge('tilelog_index_unmapped_entries', 'Entries mapped to no key.', () => counts().unmapped);
  gauge('tilelog_index_revisions', 'Map revisions in the output log.', () => {
    return indexer.state.revisions;
  });
  new Gauge({
    name: 'tilelog_index_problems',
    help: 'Entries with a part the map function could not read, by reason (README).',
    labelNames: ['reason'],
    registers: r,
    collect() {
      for (const reason of PROBLEMS) this.set({ reason }, counts().problems[reason]);
    },
  });
}

/** mountIndex adds the index's routes to app, and its gauges to registry when given. */
export function mountIndex(app: Hono, ix: IndexRoutes, registry?: Registry): void {
  if (registry) watchIndex(registry, ix.indexer);
  const p = ix.prefix;
  app.use(`${p}/*`, readCors);
  app.get(`${p}/lookup`, (c) => answer(c, ix, keyHash(queryKey(c.req.query()))));
  app.get(`${p}/lookup/:hex`, (c) => {
    const hex = c.req.param('hex');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw badRequest('lookup/<key hash> needs 64 lowercase hex');
    return answer(c, ix, fromHex(hex)!);
  });
  app.get(`${p}/checkpoint`, (c) => getCheckpoint(c, ix.output));
  app.get(`${p}/tile/*`, (c) => {
    // The raw path, not the decoded one: %-escapes are not canonical tile paths.
    return getTile(c, ix.output, new URL(c.req.url).pathname.slice(p.length + 1));
  });
}

/** createIndexApp serves an index alone (`tilelog index --listen`), with /metrics. */
export function createIndexApp(ix: IndexRoutes): Hono {
  const app = new Hono();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  app.get('/metrics', async (c) =>
    c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType }),
  );
  mountIndex(app, ix, registry);
  app.notFound((c) =>
    c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404),
  );
  app.onError((err, c) => errorResponse(c, err));
  return app;
}
