// The reference point for HTTP throughput: a trivial hono route on @hono/node-server.
import { readFileSync } from 'node:fs';

import { serve } from '@hono/node-server';
import { Hono } from 'hono';

import { readBody } from '../src/api/body.ts';

const app = new Hono();
app.get('/', (c) => c.text('ok'));
// The same size of body as a full hash tile (256 × 32 bytes), of bytes that look like hashes:
// what serving a tile costs when the route does nothing but send it.
const tile = new Uint8Array(8192).map((_, i) => (i * 2654435761) >>> 24);
app.get('/tile', (c) => c.body(tile, 200, { 'Content-Type': 'application/octet-stream' }));
// The HTTP part of a Rekor write and nothing else: the body read as log/entries reads it, and a
// real answer (a TransparencyLogEntry that bench/rekor.bench.ts saved in TRIVIAL_ANSWER) encoded
// and sent as log/entries sends it: the floor of that bench.
const answer = process.env.TRIVIAL_ANSWER ? readFileSync(process.env.TRIVIAL_ANSWER, 'utf8') : '{}';
const json = { 'Content-Type': 'application/json' } as const;
app.post('/entries', async (c) => {
  await readBody(c, 4 << 20);
  return c.body(Buffer.from(answer), 201, json);
});
const port = Number(process.argv[2] ?? 0);
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info) => {
  console.log(`serving http://127.0.0.1:${info.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
