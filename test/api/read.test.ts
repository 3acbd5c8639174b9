// The read path over a real HTTP server (@hono/node-server on loopback) and a real client (undici's
// fetch): ready answers with a strong ETag, 304 for If-None-Match, partial tiles not immutable,
// the checkpoint cached until the next publication, and every byte as the tiles define it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApp, listen } from '../../src/api/index.ts';
import { type Listener } from '../../src/api/listen.ts';
import { equal, utf8 } from '../../src/bytes.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { ENTRIES, type Tile, tilePath } from '../../src/tiles/index.ts';
import { tileWidth } from '../../src/tiles/tile.ts';
import { TiledTree } from '../helpers/tiled.ts';

const ORIGIN = 'read.example.test/log';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const SIZE = 700;

let log: Log;
let server: Listener;
// The reference: the same entries appended one at a time, every tile of every size kept.
const tree = new TiledTree();

beforeAll(async () => {
  log = await Log.open(new MemoryStore(), { origin: ORIGIN, signer, maxAgeMs: 1 });
  server = await listen(createApp(log).fetch, '127.0.0.1', 0, '/api/v2');
  const entries = Array.from({ length: SIZE }, (_, i) => utf8(`read entry ${i}`));
  const ordered: Uint8Array[] = [];
  const results = await Promise.all(entries.map((e) => log.add(e)));
  results.forEach((r, i) => (ordered[r.index] = entries[i]!));
  for (const e of ordered) tree.append([e]);
});

afterAll(async () => {
  await server.close();
  await log.close();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/${path}`, { headers });
const bytes = async (res: Response) => new Uint8Array(await res.arrayBuffer());

describe('GET tile over HTTP', () => {
  it('answers If-None-Match with 304 and no body, for full and partial tiles and bundles', async () => {
    for (const path of ['tile/0/000', 'tile/0/002.p/188', 'tile/1/000.p/2', 'tile/entries/001']) {
      const first = await get(path);
      expect(first.status, path).toBe(200);
      const etag = first.headers.get('etag')!;
      expect(etag, path).toMatch(/^"[0-9a-f]{32}(-gzip)?"$/);
      expect(first.headers.get('access-control-allow-origin')).toBe('*');
      const body = await bytes(first);
      for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
        const again = await get(path, { 'If-None-Match': inm });
        expect(again.status, `${path} ${inm}`).toBe(304);
        expect((await bytes(again)).length).toBe(0);
        expect(again.headers.get('etag')).toBe(etag);
        expect(again.headers.get('cache-control')).toBe(first.headers.get('cache-control'));
      }
      const other = await get(path, { 'If-None-Match': '"0123"' });
      expect(other.status).toBe(200);
      expect(equal(await bytes(other), body)).toBe(true);
    }
  });

  it('marks full tiles immutable and partial tiles not', async () => {
    expect((await get('tile/0/000')).headers.get('cache-control')).toContain('immutable');
    expect((await get('tile/entries/000')).headers.get('cache-control')).toContain('immutable');
    for (const path of ['tile/0/002.p/188', 'tile/0/000.p/7', 'tile/entries/002.p/188']) {
      const cc = (await get(path)).headers.get('cache-control')!;
      expect(cc, path).toMatch(/max-age=\d+/);
      expect(cc, path).not.toContain('immutable');
    }
  });

  it('serves every tile and bundle of older sizes byte for byte, cold and from the cache', async () => {
    for (const size of [1, 2, 255, 256, 257, 300, 511, 512, 513, 699, SIZE]) {
      for (let level = ENTRIES; level <= 1; level++) {
        for (let n = 0; tileWidth(level, n, size) > 0; n++) {
          const t: Tile = { level, n, width: tileWidth(level, n, size) };
          const want = tree.objects.get(tilePath(t))!;
          // Twice: the first may read the store, the second is the ready answer.
          for (let i = 0; i < 2; i++) {
            const res = await get(tilePath(t), { 'Accept-Encoding': 'identity' });
            expect(res.status, tilePath(t)).toBe(200);
            expect(equal(await bytes(res), want), `${tilePath(t)} at ${size}`).toBe(true);
          }
        }
      }
    }
    // fetch asks for gzip and inflates: an entry bundle arrives compressed and intact.
    const gz = await get('tile/entries/000');
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(equal(await bytes(gz), tree.objects.get('tile/entries/000')!)).toBe(true);
    expect((await get('tile/0/002.p/189')).status).toBe(404);
    expect((await get('tile/0/002.p/189')).headers.get('access-control-allow-origin')).toBe('*');
    expect((await get('tile/0/0002')).status).toBe(400);
  });

  it('keeps answering every path right while more paths are asked than it keeps parsed', async () => {
    // read.ts keeps 4,096 parsed paths and starts over when full: ask more distinct ones, valid
    // and beyond the tree, malformed and non-canonical, and the known tiles between them.
    const app = createApp(log);
    const status = async (p: string) => (await app.request(`/api/v2/${p}`)).status;
    const full = await bytes(await get('tile/0/000'));
    for (let n = 0; n < 5000; n++) {
      // Tiles 3 and on are beyond the tree of SIZE entries.
      expect(await status(tilePath({ level: 0, n: n + 3, width: 1 + (n % 256) }))).toBe(404);
      if (n % 1000 === 0) {
        expect(await status(`tile/0/x000/00${n % 10}`)).toBe(400);
        expect(await status('tile/0/0000')).toBe(400);
        const res = await app.request('/api/v2/tile/0/000');
        expect(res.status).toBe(200);
        expect(equal(new Uint8Array(await res.arrayBuffer()), full)).toBe(true);
      }
    }
  });
});

describe('GET checkpoint over HTTP', () => {
  it('is cached until the next publication, then answers the new one', async () => {
    const first = await get('checkpoint');
    const note = await first.text();
    expect(note).toBe(log.state.note);
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toMatch(/max-age=[0-5]$/);
    expect((await get('checkpoint', { 'If-None-Match': etag })).status).toBe(304);
    await log.add(utf8('one more'));
    const next = await get('checkpoint', { 'If-None-Match': etag });
    expect(next.status).toBe(200);
    expect(next.headers.get('etag')).not.toBe(etag);
    const text = await next.text();
    expect(text).toBe(log.state.note);
    expect(text).toContain(`\n${SIZE + 1}\n`);
  });
});

describe('CORS on the read paths', () => {
  it('answers any origin on every read under the prefix, errors and unknown paths included', async () => {
    const reads = [
      'checkpoint',
      'tile/0/000',
      'tile/0/999', // 404
      'tile/0/0002', // 400
      'proof/inclusion?index=0&treeSize=1',
      'proof/inclusion?index=zero&treeSize=1', // 400
      'entries/0',
      'no/such/route', // 404 from notFound
    ];
    for (const path of reads) {
      const res = await get(path);
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
      await res.arrayBuffer();
    }
    const head = await fetch(`${server.url}/tile/0/000`, { method: 'HEAD' });
    expect(head.headers.get('access-control-allow-origin')).toBe('*');
    // A write's answer is not for other origins, and nor is anything outside the prefix.
    const post = await fetch(`${server.url}/log/entries`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(400);
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    const outside = await fetch(new URL('/healthz', server.url));
    expect(outside.headers.get('access-control-allow-origin')).toBeNull();
  });
});
