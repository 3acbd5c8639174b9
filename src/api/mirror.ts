/**
 * The mirror HTTP API (tlog-mirror): POST <prefix>/add-checkpoint, POST <prefix>/add-entries
 * (streamed, gzip or identity), POST <prefix>/sign-subtree (with an ML-DSA-44 key), and each
 * copy over tlog-tiles at <prefix>/<origin hash>/ (checkpoint, tiles, entry bundles), the
 * monitoring prefix being the submission prefix.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { type Context, Hono } from 'hono';
import { Counter, Gauge, Registry } from 'prom-client';

import { LogError } from '../errors.ts';
import {
  ByteReader,
  type Mirror,
  type MirrorAnswer,
  type MirrorEvents,
  type MirrorOutcome,
} from '../mirror/index.ts';
import type { Log } from '../sequencer/index.ts';
import { readBody } from './body.ts';
import { errorResponse, MIRROR_STATUS } from './errors.ts';
import { getCheckpoint, getTile } from './read.ts';
import { MAX_REQUEST } from './witness.ts';

/** MirrorMetrics is the mirror's registry, the events that feed it, and its request counts. */
export interface MirrorMetrics {
  readonly registry: Registry;
  readonly events: MirrorEvents;
  /** answered counts one answer to a POST (call: add-checkpoint, add-entries, sign-subtree). */
  answered(call: string, outcome: MirrorOutcome): void;
  /** failed counts one request that failed with an error (5xx or a LogError's 4xx). */
  failed(call: string): void;
}

/**
 * createMirrorMetrics returns a fresh registry with the mirror's metrics: per log, checkpoints
 * accepted and refused, entries stored, subtree cosignatures and the mirror checkpoint's size;
 * per call, answers by outcome and errors.
 */
export function createMirrorMetrics(origins: readonly string[]): MirrorMetrics {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name: `tilelog_mirror_${name}`, help, labelNames, registers });
  const checkpoints = counter(
    'checkpoints_total',
    'add-checkpoint requests for a mirrored log, by result (accepted, refused).',
    ['log', 'result'],
  );
  const stored = counter('entries_stored_total', 'Entries authenticated and stored.', ['log']);
  const subtrees = counter('subtree_signatures_total', 'Subtrees cosigned.', ['log']);
  const answers = counter('answers_total', 'Answers to POSTs, by call and outcome.', [
    'call',
    'outcome',
  ]);
  const errors = counter('errors_total', 'Requests that failed with an error, by call.', ['call']);
  const size = new Gauge({
    name: 'tilelog_mirror_checkpoint_size',
    help: "Size of each log's mirror checkpoint.",
    labelNames: ['log'],
    registers,
  });
  for (const log of origins) {
    for (const result of ['accepted', 'refused']) checkpoints.inc({ log, result }, 0);
    stored.inc({ log }, 0);
    subtrees.inc({ log }, 0);
  }
  return {
    registry,
    events: {
      checkpoint: (log, outcome) =>
        checkpoints.inc({ log, result: outcome === 'cosigned' ? 'accepted' : 'refused' }),
      stored: (log, n) => stored.inc({ log }, n),
      subtree: (log) => subtrees.inc({ log }),
      mirrored: (log, n) => size.set({ log }, n),
    },
    answered: (call, outcome) => answers.inc({ call, outcome }),
    failed: (call) => errors.inc({ call }),
  };
}

/**
 * createMirrorApp builds the Hono app of a mirror; served returns the Log of an origin hash.
 * With metrics, it counts every answer and serves them at <prefix>/metrics.
 */
export function createMirrorApp(
  mirror: Mirror,
  served: (originHash: string) => Log | undefined,
  prefix = '',
  metrics?: MirrorMetrics,
): Hono {
  const app = new Hono();
  const answer = (c: Context, r: MirrorAnswer) => {
    metrics?.answered(c.req.path.slice(prefix.length + 1), r.outcome);
    c.header('Content-Type', r.contentType);
    // tlog-mirror: mirrors SHOULD say which encodings add-entries may use.
    c.header('Accept-Encoding', 'gzip');
    return c.body(r.body, MIRROR_STATUS[r.outcome]);
  };
  const decoded = async (c: Context) =>
    new TextDecoder('utf-8', { fatal: false }).decode(await readBody(c, MAX_REQUEST));
  app.post(`${prefix}/add-checkpoint`, async (c) =>
    answer(c, await mirror.addCheckpoint(await decoded(c))),
  );
  if (mirror.signsSubtrees)
    app.post(`${prefix}/sign-subtree`, async (c) =>
      answer(c, await mirror.signSubtree(await decoded(c))),
    );
  app.post(`${prefix}/add-entries`, async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/octet-stream\s*(;|$)/i.test(type))
      return answer(c, unsupported('add-entries takes Content-Type: application/octet-stream'));
    const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity')
      return answer(c, unsupported(`Content-Encoding ${encoding.slice(0, 40)} is not supported`));
    return answer(c, await mirror.addEntries(new ByteReader(bodyStream(c, encoding === 'gzip'))));
  });
  const log = (c: Context): Log => {
    const l = served(c.req.param('hash')!);
    if (!l) throw new LogError('not_found', 'no mirror checkpoint for this origin hash');
    return l;
  };
  app.get(`${prefix}/:hash{[0-9a-f]{64}}/checkpoint`, (c) => getCheckpoint(c, log(c)));
  app.get(`${prefix}/:hash{[0-9a-f]{64}}/tile/*`, (c) => {
    // The raw path, not the decoded one: %-escapes are not canonical tile paths.
    const path = new URL(c.req.url).pathname;
    return getTile(c, log(c), path.slice(prefix.length + 66));
  });
  if (metrics)
    app.get(`${prefix}/metrics`, async (c) => {
      c.header('Content-Type', metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
  app.notFound((c) =>
    c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404),
  );
  const CALLS = ['add-checkpoint', 'add-entries', 'sign-subtree'];
  app.onError((err, c) => {
    const call = c.req.path.slice(prefix.length + 1);
    if (c.req.method === 'POST' && CALLS.includes(call)) metrics?.failed(call);
    return errorResponse(c, err);
  });
  return app;
}

function unsupported(why: string): MirrorAnswer {
  return { outcome: 'unsupported', body: why + '\n', contentType: 'text/plain; charset=utf-8' };
}

// bodyStream is the request body as it arrives, gunzipped if asked. A stream that fails (a
// client gone, bad gzip) just ends: what was authenticated before stays (tlog-mirror: an
// interrupted request is committed partially).
async function* bodyStream(c: Context, gzip: boolean): AsyncIterable<Uint8Array> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const raw: AsyncIterable<Uint8Array> | null = incoming ?? c.req.raw.body;
  if (!raw) return;
  const source = gzip ? Readable.from(raw).pipe(createGunzip()) : raw;
  try {
    for await (const chunk of source) yield chunk as Uint8Array;
  } catch {
    return;
  }
}
