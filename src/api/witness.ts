/** The witness HTTP API: POST <prefix>/add-checkpoint (tlog-witness). */
import { Hono } from 'hono';

import type { Witness } from '../witness/index.ts';
import { readBody } from './body.ts';
import { errorResponse, WITNESS_STATUS } from './errors.ts';

/** MAX_REQUEST is the largest add-checkpoint body accepted: 63 proof lines and a note with many signatures. */
export const MAX_REQUEST = 64 * 1024;

/** createWitnessApp builds the Hono app of a witness. */
export function createWitnessApp(witness: Witness, prefix = ''): Hono {
  const app = new Hono();
  app.post(`${prefix}/add-checkpoint`, async (c) => {
    const body = await readBody(c, MAX_REQUEST);
    const decoded = new TextDecoder('utf-8', { fatal: false }).decode(body);
    const r = await witness.addCheckpoint(decoded);
    c.header('Content-Type', r.contentType);
    return c.body(r.body, WITNESS_STATUS[r.outcome]);
  });
  app.notFound((c) =>
    c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404),
  );
  // A body over MAX_REQUEST is a too_large LogError: 413 from the one table, like every LogError.
  app.onError((err, c) => errorResponse(c, err));
  return app;
}
