// The reference point for HTTP throughput: a trivial hono route on @hono/node-server.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.text('ok'));
// The same size of body as a full hash tile (256 × 32 bytes), of bytes that look like hashes:
// what serving a tile costs when the route does nothing but send it.
const tile = new Uint8Array(8192).map((_, i) => (i * 2654435761) >>> 24);
app.get('/tile', (c) => c.body(tile, 200, { 'Content-Type': 'application/octet-stream' }));
const port = Number(process.argv[2] ?? 0);
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info) => {
  console.log(`serving http://127.0.0.1:${info.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
