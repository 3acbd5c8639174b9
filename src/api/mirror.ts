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

import { LogError } from '../errors.ts';
import { ByteReader, type Mirror, type MirrorAnswer } from '../mirror/index.ts';
import type { Log } from '../sequencer/index.ts';
import { readBody } from './body.ts';
import { errorResponse, MIRROR_STATUS } from './errors.ts';
import { getCheckpoint, getTile } from './read.ts';
import { MAX_REQUEST } from './witness.ts';

/** createMirrorApp builds the Hono app of a mirror; served returns the Log of an origin hash. */
export function createMirrorApp(
  mirror: Mirror,
  served: (originHash: string) => Log | undefined,
  prefix = '',
): Hono {
  const app = new Hono();
  const answer = (c: Context, r: MirrorAnswer) => {
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
  app.notFound((c) =>
    c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404),
  );
  app.onError((err, c) => errorResponse(c, err));
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
