/** The witness HTTP API: POST <prefix>/add-checkpoint (tlog-witness). */
import { Hono } from 'hono';

import type { Witness } from '../witness/index.ts';
import { readBody } from './body.ts';

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
    return c.body(r.body, r.status);
  });
  app.notFound((c) =>
    c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404),
  );
  app.onError((err, c) => {
    const tooLarge = err instanceof Error && /over \d+ bytes/.test(err.message);
    if (!tooLarge) console.error('tilelog witness:', err);
    return c.text(tooLarge ? `${err.message}\n` : 'internal error\n', tooLarge ? 413 : 500);
  });
  return app;
}
