import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { utf8 } from '../../src/bytes.ts';
import {
  AdmissionPool,
  admitCreateEntry,
  KEY_DETAILS,
  parseJson,
} from '../../src/entries/index.ts';
import { LogError } from '../../src/errors.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { makeSigner, request } from '../helpers/signers.ts';

// The pool runs the build's worker (dist/entries/worker.js): `npm test` builds first.
const opts = { allowedKeyDetails: KEY_DETAILS };
const text = (b: Uint8Array) => new TextDecoder().decode(b);

// What inline admission says about raw: the body, or the error's code and message.
function inline(raw: Uint8Array): { body: string } | { code: string; message: string } {
  try {
    return { body: text(admitCreateEntry(parseJson(raw), opts).body) };
  } catch (e) {
    if (!(e instanceof LogError)) throw e;
    return { code: e.code, message: e.message };
  }
}

async function pooled(pool: AdmissionPool, raw: Uint8Array) {
  try {
    return { body: text((await pool.admit(raw)).body) };
  } catch (e) {
    if (!(e instanceof LogError)) throw e;
    return { code: e.code, message: e.message };
  }
}

// For each key type: a valid request, a signature over another digest, a flipped signature
// byte, a digest of the wrong length, and a key that does not match keyDetails.
function cases(): Uint8Array[] {
  const out: unknown[] = [];
  for (const kd of KEY_DETAILS) {
    const s = makeSigner(kd);
    const a = utf8(`artifact for ${kd}`);
    const ok = request(s, a);
    out.push(ok);
    out.push(request(s, a, { digest: Buffer.from(s.digest(utf8('other'))).toString('base64') }));
    const sig = Buffer.from(ok.hashedRekordRequestV002.signature.content, 'base64');
    sig[sig.length >> 1]! ^= 1;
    const flipped = structuredClone(ok);
    flipped.hashedRekordRequestV002.signature.content = sig.toString('base64');
    out.push(flipped);
    out.push(request(s, a, { digest: Buffer.from(s.digest(a).subarray(1)).toString('base64') }));
    const mismatched = structuredClone(ok);
    mismatched.hashedRekordRequestV002.signature.verifier.keyDetails =
      kd === 'PKIX_ECDSA_P256_SHA_256' ? 'PKIX_ECDSA_P384_SHA_384' : 'PKIX_ECDSA_P256_SHA_256';
    out.push(mismatched);
  }
  const raws = out.map((r) => utf8(JSON.stringify(r)));
  raws.push(utf8('{"hashedRekordRequestV002": '), utf8('{"a":1,"a":2}'), new Uint8Array([0xff]));
  return raws;
}

describe('admission pool', () => {
  let pool: AdmissionPool;
  beforeAll(() => {
    pool = new AdmissionPool(opts, { size: 2, maxBatch: 8 });
  });
  afterAll(() => pool.close());

  it('gives the verdicts of inline admission, refusals with the same code and message', async () => {
    const raws = cases();
    const want = raws.map(inline);
    expect(want.filter((w) => 'body' in w)).toHaveLength(KEY_DETAILS.length);
    // All at once (several batches on both workers), then one at a time.
    expect(await Promise.all(raws.map((r) => pooled(pool, r)))).toEqual(want);
    for (const [i, r] of raws.entries()) expect(await pooled(pool, r)).toEqual(want[i]);
  });

  it('serves POST log/entries as inline admission does: the same statuses and bodies', async () => {
    const signer = parseSignerKey(generateSignerKey('pool.example/log'));
    const open = () => Log.open(new MemoryStore(), { origin: 'pool.example/log', signer });
    const [a, b] = [await open(), await open()];
    const post = async (app: ReturnType<typeof createApp>, body: Uint8Array) => {
      const init = { method: 'POST', body: body as Uint8Array<ArrayBuffer> };
      const r = await app.request('/api/v2/log/entries', init);
      return [r.status, await r.text()];
    };
    const withPool = createApp(a, { admission: pool });
    const without = createApp(b, {});
    const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
    const ok = utf8(JSON.stringify(request(s, utf8('via the app'))));
    const bad = structuredClone(JSON.parse(text(ok)));
    bad.hashedRekordRequestV002.digest = bad.hashedRekordRequestV002.digest.slice(4);
    for (const body of [ok, ok, utf8(JSON.stringify(bad)), utf8('[')]) {
      const [got, want] = [await post(withPool, body), await post(without, body)];
      expect(got).toEqual(want);
    }
    await a.close();
    await b.close();
  });

  it('refuses with unavailable after close', async () => {
    const p = new AdmissionPool(opts, { size: 1 });
    await p.close();
    await expect(p.admit(utf8('{}'))).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('admission pool with a worker that dies', () => {
  const workerUrl = new URL('./fixtures/crash-worker.mjs', import.meta.url);

  it('refuses the dead worker’s batch with unavailable and replaces the worker', async () => {
    const pool = new AdmissionPool(opts, { size: 1, workerUrl });
    try {
      expect(text((await pool.admit(utf8('first'))).body)).toBe('first');
      // Sent in one turn, so one batch: the crash takes its neighbour with it.
      const both = [pool.admit(utf8('crash')), pool.admit(utf8('neighbour'))];
      for (const p of both) await expect(p).rejects.toMatchObject({ code: 'unavailable' });
      expect(text((await pool.admit(utf8('after'))).body)).toBe('after');
    } finally {
      await pool.close();
    }
  });
});

describe('admission pool shutdown', () => {
  it('lets the process exit once closed', () => {
    const script = `
      const { AdmissionPool, KEY_DETAILS } = await import('./dist/entries/index.js');
      const pool = new AdmissionPool({ allowedKeyDetails: KEY_DETAILS }, { size: 2 });
      await pool.admit(new TextEncoder().encode('{}')).catch((e) => console.log(e.code));
      await pool.close();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('bad_request');
  });

  it('starts its workers under V8 flags (which a Worker refuses in execArgv)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-flags-'));
    const file = join(dir, 'pool.mjs');
    const dist = new URL('../../dist/entries/index.js', import.meta.url).href;
    writeFileSync(
      file,
      `import { AdmissionPool, KEY_DETAILS } from '${dist}';
      const pool = new AdmissionPool({ allowedKeyDetails: KEY_DETAILS }, { size: 1 });
      await pool.admit(new TextEncoder().encode('{}')).catch((e) => console.log(e.code));
      await pool.close();`,
    );
    try {
      const r = spawnSync(process.execPath, ['--max-semi-space-size=32', file], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe('bad_request');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
