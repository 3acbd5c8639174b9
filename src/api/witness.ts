/**
 * The witness HTTP API (tlog-witness): POST <prefix>/add-checkpoint, POST <prefix>/sign-subtree
 * (when the witness has an ML-DSA-44 key) and the monitoring retrieval
 * GET <prefix>/<origin hash>/checkpoint, whose monitoring prefix is the submission prefix.
 */
import { type Context, Hono } from 'hono';
import type { Registry } from 'prom-client';

import type { Witness, WitnessAnswer } from '../witness/index.ts';
import { readBody } from './body.ts';
import { errorResponse, WITNESS_STATUS } from './errors.ts';

/** MAX_REQUEST is the largest request body accepted: 63 proof lines and a note with many signatures. */
export const MAX_REQUEST = 64 * 1024;

/** WitnessAppOptions: a metrics registry to serve at <prefix>/metrics. */
export interface WitnessAppOptions {
  readonly registry?: Registry;
}

/** createWitnessApp builds the Hono app of a witness. */
export function createWitnessApp(
  witness: Witness,
  prefix = '',
  opts: WitnessAppOptions = {},
): Hono {
  const app = new Hono();
  const answer = (c: Context, r: WitnessAnswer) => {
    c.header('Content-Type', r.contentType);
    return c.body(r.body, WITNESS_STATUS[r.outcome]);
  };
  const decoded = async (c: Context) =>
    new TextDecoder('utf-8', { fatal: false }).decode(await readBody(c, MAX_REQUEST));
  app.post(`${prefix}/add-checkpoint`, async (c) =>
    answer(c, await witness.addCheckpoint(await decoded(c))),
  );
  // sign-subtree is OPTIONAL (tlog-witness): only a witness with an ML-DSA-44 key can sign a
  // subtree, as Ed25519 cosignature/v1 has no subtree form.
  if (witness.signsSubtrees)
    app.post(`${prefix}/sign-subtree`, async (c) =>
      answer(c, await witness.signSubtree(await decoded(c))),
    );
  app.get(`${prefix}/:hash{[0-9a-f]{64}}/checkpoint`, async (c) =>
    answer(c, await witness.checkpoint(c.req.param('hash'))),
  );
  const registry = opts.registry;
  if (registry)
    app.get(`${prefix}/metrics`, async (c) => {
      c.header('Content-Type', registry.contentType);
      return c.body(await registry.metrics());
    });
  app.notFound((c) =>
    c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404),
  );
  // A body over MAX_REQUEST is a too_large LogError: 413 from the one table, like every LogError.
  app.onError((err, c) => errorResponse(c, err));
  return app;
}
