import { gunzipSync } from 'node:zlib';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { fromBase64, toBase64, utf8 } from '../../src/bytes.ts';
import { checkConsistency, checkInclusion, leafHash } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { FaultyStore } from '../helpers/faulty.ts';
import { verifyLog } from '../helpers/verify.ts';

const ORIGIN = 'localhost/api/v2';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);
const P = '/api/v2';

async function setup(opts: { maxPending?: number } = {}) {
  const store = new FaultyStore(new MemoryStore());
  const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 2, maxBatch: 64, ...opts });
  const app = createApp(log, { personality: 'generic' });
  const add = (body: Uint8Array) =>
    app.request(`${P}/add`, {
      method: 'POST',
      body: body as Uint8Array<ArrayBuffer>,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
  return { store, log, app, add };
}

const cpOf = (note: string) => parseCheckpoint(openNote(note, [verifier]).text);

describe('HTTP API', () => {
  it('adds entries and answers with an inclusion proof against a signed checkpoint', async () => {
    const { app, add } = await setup();
    const entries = Array.from({ length: 300 }, (_, i) => utf8(`api entry ${i}`));
    const answers = await Promise.all(entries.map((en) => add(en)));
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      const body = (await res.json()) as { index: string; checkpoint: string; hashes: string[] };
      expect(body.index).toMatch(/^(0|[1-9][0-9]*)$/);
      const c = cpOf(body.checkpoint);
      checkInclusion(
        Number(body.index),
        c.size,
        leafHash(entries[i]!),
        body.hashes.map((h) => fromBase64(h)!),
        c.root,
      );
    }
    const cpRes = await app.request(`${P}/checkpoint`);
    expect(cpRes.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(cpRes.headers.get('cache-control')).toMatch(/max-age=[0-5]$/);
    const note = await cpRes.text();
    expect(cpOf(note).size).toBe(300);
    const got = await verifyLog(
      note,
      verifier,
      async (path) => {
        const r = await app.request(`${P}/${path}`);
        expect(r.headers.get('content-type')).toBe('application/octet-stream');
        return r.status === 200 ? new Uint8Array(await r.arrayBuffer()) : null;
      },
      true,
    );
    expect(new Set(got.map((g) => new TextDecoder().decode(g)))).toEqual(
      new Set(entries.map((en) => new TextDecoder().decode(en))),
    );
  });

  it('serves full tiles as immutable, partial tiles for every size up to the tree, and 404 beyond', async () => {
    const { app, add, log } = await setup();
    for (let i = 0; i < 260; i++) await Promise.all([add(utf8(`t${i}`))]);
    expect(log.state.checkpoint.size).toBe(260);
    const full = await app.request(`${P}/tile/0/000`);
    expect(full.status).toBe(200);
    expect(full.headers.get('cache-control')).toContain('immutable');
    expect((await full.arrayBuffer()).byteLength).toBe(8192);
    for (const w of [1, 17, 255]) {
      const r = await app.request(`${P}/tile/0/000.p/${w}`);
      expect(r.status).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBe(32 * w);
    }
    expect((await app.request(`${P}/tile/0/001.p/4`)).status).toBe(200);
    expect((await app.request(`${P}/tile/0/001.p/5`)).status).toBe(404);
    expect((await app.request(`${P}/tile/0/001`)).status).toBe(404);
    expect((await app.request(`${P}/tile/1/000.p/1`)).status).toBe(200);
    expect((await app.request(`${P}/tile/2/000.p/1`)).status).toBe(404);
    const bundle = await app.request(`${P}/tile/entries/000.p/3`);
    const plain = new Uint8Array(await bundle.arrayBuffer());
    expect(plain).toEqual(Uint8Array.of(0, 2, 116, 48, 0, 2, 116, 49, 0, 2, 116, 50));
    const gz = await app.request(`${P}/tile/entries/000.p/3`, {
      headers: { 'Accept-Encoding': 'gzip, br' },
    });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(new Uint8Array(gunzipSync(new Uint8Array(await gz.arrayBuffer())))).toEqual(plain);
  });

  it('serves inclusion proofs by index or leaf hash, and consistency proofs', async () => {
    const { app, add, log } = await setup();
    const entries = Array.from({ length: 50 }, (_, i) => utf8(`p${i}`));
    for (const en of entries.slice(0, 20)) await add(en);
    const small = log.state.checkpoint;
    await Promise.all(entries.slice(20).map((en) => add(en)));
    const big = log.state.checkpoint;
    const r = await app.request(`${P}/proof/inclusion?index=7&treeSize=${small.size}`);
    const body = (await r.json()) as {
      logIndex: string;
      treeSize: string;
      rootHash: string;
      hashes: string[];
    };
    expect(body.logIndex).toBe('7');
    expect(body.rootHash).toBe(toBase64(small.root));
    checkInclusion(
      7,
      small.size,
      leafHash(entries[7]!),
      body.hashes.map((h) => fromBase64(h)!),
      small.root,
    );
    const byLeaf = await app.request(
      `${P}/proof/inclusion?leafHash=${encodeURIComponent(toBase64(leafHash(entries[7]!)))}&treeSize=${big.size}`,
    );
    expect(((await byLeaf.json()) as { logIndex: string }).logIndex).toBe('7');
    const c = await app.request(
      `${P}/proof/consistency?firstSize=${small.size}&lastSize=${big.size}`,
    );
    const cb = (await c.json()) as { firstSize: string; lastSize: string; hashes: string[] };
    expect(cb.firstSize).toBe(String(small.size));
    checkConsistency(
      small.size,
      big.size,
      small.root,
      big.root,
      cb.hashes.map((h) => fromBase64(h)!),
    );
  });

  it('answers bad input with a one-line 4xx and changes nothing', async () => {
    const { app, add, log } = await setup();
    await add(utf8('x'));
    const before = log.state.note;
    const bad: [string, number][] = [
      [`${P}/tile/0/0000`, 400],
      [`${P}/tile/0/000.p/0`, 400],
      [`${P}/tile/64/000`, 400],
      [`${P}/tile/0/%30%30%30`, 400],
      [`${P}/tile/entries/x001`, 400],
      [`${P}/tile/0/999`, 404],
      [`${P}/proof/inclusion?index=0`, 400],
      [`${P}/proof/inclusion?index=-1&treeSize=1`, 400],
      [`${P}/proof/inclusion?index=0&treeSize=2`, 400],
      [`${P}/proof/inclusion?index=1&treeSize=1`, 400],
      [`${P}/proof/inclusion?index=0&leafHash=AA==&treeSize=1`, 400],
      [`${P}/proof/inclusion?leafHash=AA==&treeSize=1`, 400],
      [
        `${P}/proof/inclusion?leafHash=${encodeURIComponent(toBase64(new Uint8Array(32)))}&treeSize=1`,
        404,
      ],
      [`${P}/proof/inclusion?index=99999999999999999999&treeSize=1`, 400],
      [`${P}/proof/consistency?firstSize=1&lastSize=5`, 400],
      [`${P}/proof/consistency?firstSize=x&lastSize=1`, 400],
      [`${P}/proof/consistency?firstSize=1`, 400],
      [`/nope`, 404],
    ];
    for (const [url, status] of bad) {
      const r = await app.request(url);
      expect(r.status, url).toBe(status);
      const text = await r.text();
      expect(text.trim().split('\n'), url).toHaveLength(1);
    }
    const big = await add(new Uint8Array(65536));
    expect(big.status).toBe(413);
    expect(log.state.note).toBe(before);
  });

  it('answers 503 with Retry-After on pushback and storage faults', async () => {
    const { store, add } = await setup({ maxPending: 2 });
    const res = await Promise.all(Array.from({ length: 6 }, (_, i) => add(utf8(`q${i}`))));
    const refused = res.filter((r) => r.status === 503);
    expect(refused.length).toBe(4);
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    store.commitFault = 'fail-before';
    const failed = await add(utf8('during fault'));
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
  });

  it('never answers 5xx to arbitrary paths and queries', async () => {
    const { app, add } = await setup();
    await add(utf8('seed'));
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'tile/',
          'tile/entries/',
          'proof/inclusion?',
          'proof/consistency?',
          'checkpoint',
          '',
        ),
        fc.string({
          unit: fc.constantFrom(...'0123456789x./p=&-+%?#abcdefghijklmnopqrstuvwxyzIS'),
          maxLength: 40,
        }),
        async (base, rest) => {
          tried++;
          const r = await app.request(`${P}/${base}${rest}`);
          expect(r.status, `${base}${rest}`).toBeLessThan(500);
        },
      ),
      { numRuns: 2000 },
    );
    expect(tried).toBe(2000);
  });
});
