/**
 * The HTTP API: the whole route table on one screen. Handlers parse, call one core function and
 * format; errors go through the one table in errors.ts.
 */
import { Hono } from 'hono';

import type { AdmissionPool, KeyDetails } from '../entries/index.ts';
import { LogError } from '../errors.ts';
import type { Log } from '../sequencer/index.ts';
import { corsOnRead, readCors } from './cors.ts';
import { admitOptions } from './create.ts';
import { getEntry } from './entries.ts';
import { errorResponse } from './errors.ts';
import { type ExplorerConfig, mountExplorer } from './explorer.ts';
import { healthOf } from './health.ts';
import type { Metrics } from './metrics.ts';
import type { Personality } from './personality.ts';
import { getConsistencyProof, getInclusionProof } from './proofs.ts';
import { getCheckpoint, getTile } from './read.ts';
import { postEntry } from './rekor.ts';
import { type IndexRoutes, mountIndex } from './vindex.ts';
import { postAdd } from './write.ts';

/** ApiOptions configures the HTTP API. */
export interface ApiOptions {
  /** prefix is where the log's paths live (default /api/v2). */
  readonly prefix?: string;
  /**
   * personality chooses the one write route (default 'rekor': POST log/entries only; 'generic':
   * POST add only); the other answers 404 and appends nothing. Pass the log's recorded one
   * (settlePersonality).
   */
  readonly personality?: Personality;
  /** allowedKeyDetails narrows the hashedrekord algorithms (default: rekor-tiles' set). */
  readonly allowedKeyDetails?: readonly KeyDetails[];
  /** acceptDsse admits dsseRequestV002 entries (off by default, as in rekor-tiles ≥ v2.3.0). */
  readonly acceptDsse?: boolean;
  /**
   * admission runs Rekor admission on worker threads (made with the same allowedKeyDetails and
   * acceptDsse); without it, admission runs inline. The caller closes it.
   */
  readonly admission?: AdmissionPool;
  /** metrics are served at /metrics when given. */
  readonly metrics?: Metrics;
  /** stuckAfterMs: /healthz fails once submissions wait this long with no commit (default 30 s). */
  readonly stuckAfterMs?: number;
  /** index serves a verifiable index of this log (src/vindex) under its own prefix. */
  readonly index?: IndexRoutes;
  /** explorer serves the log explorer's page at / with this config.json. */
  readonly explorer?: ExplorerConfig;
}

// The read routes under the prefix besides the hot ones (tiles, checkpoint).
const READ_ROUTES = ['proof/*', 'entries/*'];

/** normalizePrefix returns prefix with a leading slash and no trailing one ('' for the root). */
export function normalizePrefix(prefix: string): string {
  const p = ('/' + prefix).replace(/\/+/g, '/').replace(/\/$/, '');
  return p;
}

/** createApp builds the Hono app serving log. */
export function createApp(log: Log, opts: ApiOptions = {}): Hono {
  const prefix = normalizePrefix(opts.prefix ?? '/api/v2');
  const app = new Hono();
  // The hot read routes carry CORS in their ready answers (read.ts); the other read routes get it
  // from the middleware, and a path no route matches from notFound. A middleware over all of
  // prefix/* would also match the hot routes, and hono runs a request that matches more than one
  // handler through its async compose instead of calling the one handler.
  app.get(`${prefix}/checkpoint`, (c) => getCheckpoint(c, log));
  // The raw path, not the decoded one: %-escapes are not canonical tile paths.
  app.get(`${prefix}/tile/*`, (c) => getTile(c, log, rawPath(c.req.url).slice(prefix.length + 1)));
  for (const p of READ_ROUTES) app.use(`${prefix}/${p}`, readCors);

  // rekor-tiles answers grpc-gateway's health endpoint, {"status":"SERVING"}: the same first field,
  // then what an operator wants to see.
  app.get('/healthz', (c) => {
    const status = healthOf(log, opts.stuckAfterMs);
    const body = {
      status,
      role: log.role,
      size: log.state.checkpoint.size,
      pending: log.pending,
      stuckForMs: log.stuckForMs,
      ...(log.unhealthy ? { reason: log.unhealthy } : {}),
    };
    return c.json(body, status === 'SERVING' ? 200 : 503);
  });
  if (opts.metrics) {
    const registry = opts.metrics.registry;
    app.get('/metrics', async (c) =>
      c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType }),
    );
  }
  mountWrites(app, log, prefix, opts);
  app.get(`${prefix}/proof/inclusion`, (c) => getInclusionProof(c, log));
  app.get(`${prefix}/proof/consistency`, (c) => getConsistencyProof(c, log));
  app.get(`${prefix}/entries/:index`, (c) => getEntry(c, log));

  if (opts.index) mountIndex(app, opts.index, opts.metrics?.registry);
  if (opts.explorer) mountExplorer(app, opts.explorer);
  app.notFound((c) => {
    corsOnRead(c, prefix);
    return c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404);
  });
  app.onError((err, c) => errorResponse(c, err));
  return app;
}

// One write route per log: raw bytes must never become leaves of a Rekor log (Rekor v2 §6.1.3: the
// service validates the signing event), and a generic log has no Rekor admission.
function mountWrites(app: Hono, log: Log, prefix: string, opts: ApiOptions): void {
  const personality = opts.personality ?? 'rekor';
  const admit = admitOptions(opts);
  const [served, refused] =
    personality === 'generic' ? ['add', 'log/entries'] : ['log/entries', 'add'];
  if (personality === 'generic') app.post(`${prefix}/add`, (c) => postAdd(c, log));
  else app.post(`${prefix}/log/entries`, (c) => postEntry(c, log, admit, opts.admission));
  app.post(`${prefix}/${refused}`, () => {
    throw new LogError('not_found', `a ${personality} log takes entries at POST ${served} only`);
  });
}

function rawPath(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const end = url.search(/[?#]/);
  return url.slice(start, end < 0 ? undefined : end);
}
