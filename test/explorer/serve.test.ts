// `serve --index` and the explorer's server side over real HTTP: the page and its config.json at
// /, CORS on every read path (not on writes), the in-process index finding new entries with
// proofs that verify, the index surviving a restart, and `tilelog explorer --out`.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { toHex } from '../../src/bytes.ts';
import { main } from '../../src/cli/index.ts';
import { sha256 } from '../../src/crypto.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../src/note/index.ts';
import { type RunningLog, startServer } from '../../src/server.ts';
import { digestKey, keyHash, verifyLookup } from '../../src/vindex/index.ts';
import { makeSigner, request } from '../helpers/signers.ts';
import { buildExplorer } from './browser.ts';

const signer = makeSigner('PKIX_ECDSA_P256_SHA_256');

async function start(data: string): Promise<{ running: RunningLog; lines: string[] }> {
  const lines: string[] = [];
  const running = await startServer({
    data,
    listen: '127.0.0.1:0',
    prefix: '/api/v2',
    index: true,
    maxAgeMs: 1,
    say: (l) => lines.push(l),
  });
  return { running, lines };
}

async function post(url: string, artifact: Uint8Array): Promise<Response> {
  return fetch(`${url}/log/entries`, {
    method: 'POST',
    body: JSON.stringify(request(signer, artifact)),
  });
}

// lookupDigest polls the index until it covers the log's size, then verifies the answer.
async function lookupDigest(url: string, vkey: string, indexVkey: string, artifact: Uint8Array) {
  const key = keyHash(digestKey('sha256', sha256(artifact)));
  for (let i = 0; ; i++) {
    const res = await fetch(`${url}/index/lookup/${toHex(key)}`);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    if (res.status === 200) {
      const v = verifyLookup(await res.json(), {
        key,
        outputVerifiers: [parseVerifierKey(indexVkey)],
        inputVerifiers: [parseVerifierKey(vkey)],
      });
      if (v.indices.length > 0 || i > 100) return v;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('tilelog serve --index and the explorer page', () => {
  const data = mkdtempSync(join(tmpdir(), 'tilelog-explorer-serve-'));
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    buildExplorer();
    s = await start(data);
  });
  afterAll(() => s?.running.close());

  it('serves the page, its script and style, and a config.json naming this log and index', async () => {
    const origin = new URL(s.running.url).origin;
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await page.text()).toMatch(/<script type="module" src="explorer.js">/);
    for (const f of ['explorer.js', 'explorer.css'])
      expect((await fetch(`${origin}/${f}`)).status).toBe(200);
    const config = await (await fetch(`${origin}/config.json`)).json();
    const indexVkey = /index verifier key: (\S+);/.exec(s.lines.join('\n'))![1];
    expect(config).toEqual({
      log: '/api/v2',
      vkey: s.running.verifierKey,
      index: '/api/v2/index',
      indexVkey,
      witnesses: [],
    });
  });

  it('sends Access-Control-Allow-Origin: * on read paths, errors included, and not on writes', async () => {
    const u = s.running.url;
    const reads = [
      `${u}/checkpoint`,
      `${u}/tile/0/000`, // 404 while the tree is small: the reason must still be readable
      `${u}/tile/entries/000.p/1`,
      `${u}/proof/inclusion?index=0&size=1`,
      `${u}/index/checkpoint`,
      `${u}/index/lookup?digest=sha256:${'0'.repeat(64)}`,
      `${u}/index/lookup?digest=nonsense`,
    ];
    expect((await post(u, new TextEncoder().encode('cors'))).status).toBe(201);
    for (const r of reads) {
      const res = await fetch(r);
      expect(res.headers.get('access-control-allow-origin'), r).toBe('*');
    }
    const write = await post(u, new TextEncoder().encode('cors 2'));
    expect(write.status).toBe(201);
    expect(write.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('indexes new entries in-process; a lookup answer verifies; the index survives a restart', async () => {
    const artifact = new TextEncoder().encode('indexed artifact');
    expect((await post(s.running.url, artifact)).status).toBe(201);
    const indexVkey = /index verifier key: (\S+);/.exec(s.lines.join('\n'))![1]!;
    const v = await lookupDigest(s.running.url, s.running.verifierKey, indexVkey, artifact);
    expect(v.indices.length).toBe(1);
    await s.running.close();
    s = await start(data);
    expect(s.lines.join('\n')).toContain(indexVkey);
    const again = await lookupDigest(s.running.url, s.running.verifierKey, indexVkey, artifact);
    expect(again.indices).toEqual(v.indices);
    expect(readdirSync(join(data, 'index')).sort()).toEqual(
      ['db', 'log.key', 'log.pub', 'map'].sort(),
    );
  });
});

describe('tilelog explorer --out', () => {
  it('writes the page and a config.json; refuses a bad key or half a pair', async () => {
    buildExplorer();
    const out = mkdtempSync(join(tmpdir(), 'tilelog-explorer-out-'));
    const vkey = parseSignerKey(generateSignerKey('log.example.test')).verifierKey;
    const log = 'https://log.example.test/api/v2';
    expect(await main(['explorer', '--out', out, '--log', log, '--vkey', vkey])).toBe(0);
    expect(readdirSync(out).sort()).toEqual(
      ['config.json', 'explorer.css', 'explorer.js', 'index.html'].sort(),
    );
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual({
      log,
      vkey,
      index: null,
      indexVkey: null,
      witnesses: [],
    });
    expect(readFileSync(join(out, 'explorer.js'))).toEqual(
      readFileSync(new URL('../../dist/explorer-web/explorer.js', import.meta.url)),
    );
    expect(await main(['explorer', '--out', out, '--log', log])).toBe(2);
    expect(await main(['explorer', '--out', out, '--log', log, '--vkey', 'nonsense'])).toBe(1);
  });
});
