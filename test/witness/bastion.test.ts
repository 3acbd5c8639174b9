// The https-bastion path end to end: a witness that dials out to a bastion (TLS 1.3, ALPN
// bastion/0, Ed25519 client certificate, HTTP/2 served back over the connection) is asked through
// the bastion, by hand and by a real `tilelog serve --witness-policy` child process whose policy
// names the bastion URL. The bastion is src/api/bastion-server.ts, checked here against the
// statuses https-bastion gives.
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bastionKeyHash, connectBastion } from '../../src/api/bastion.ts';
import { selfSignedCertificate } from '../../src/api/bastion-cert.ts';
import { type Bastion, startBastion } from '../../src/api/bastion-server.ts';
import { createWitnessApp } from '../../src/api/witness.ts';
import { toHex, utf8 } from '../../src/bytes.ts';
import { sha256 } from '../../src/crypto.ts';
import { formatCosignerSecret } from '../../src/note/cosignature.ts';
import { ALG_MLDSA44, openNote, parseCosignerKey } from '../../src/note/index.ts';
import { signNote } from '../../src/note/note.ts';
import { startWitness } from '../../src/server.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import type { Witness } from '../../src/witness/index.ts';
import { type Child, kill9, startChild } from '../helpers/server.ts';
import { logSigner, openWitness, witnessCosigners } from '../helpers/witness.ts';

const ORIGIN = 'crash.test/log'; // the origin test/helpers/server.ts gives `tilelog serve`
const { skey: logSkey, ...logKey } = logSigner(ORIGIN);
const { ed, pq } = witnessCosigners('witness.example.test/b', 'witness.example.test/b', 9);
const witnessSecret = formatCosignerSecret(
  'witness.example.test/b',
  ALG_MLDSA44,
  new Uint8Array(32).fill(10),
);

const server = generateKeyPairSync('ed25519');
const serverCert = selfSignedCertificate(server.privateKey, server.publicKey, {
  commonName: 'test bastion',
  names: ['127.0.0.1', 'localhost'],
});
const serverKey = server.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const backendKey = generateKeyPairSync('ed25519').privateKey;
const loopback = { host: '127.0.0.1', port: 0 };

async function bastion(allow?: string[]): Promise<Bastion> {
  return startBastion({
    backends: loopback,
    clients: loopback,
    key: serverKey,
    cert: serverCert,
    allow: allow && new Set(allow),
  });
}

describe('https-bastion', () => {
  it('makes certificates that parse, whatever the random serial (DER INTEGER without padding)', () => {
    // A padded serial came up about once in 256 certificates; 3,000 would show it.
    const k = generateKeyPairSync('ed25519');
    for (let i = 0; i < 3000; i++) {
      const pem = selfSignedCertificate(k.privateKey, k.publicKey, { commonName: 'c', names: [] });
      const cert = new X509Certificate(pem);
      expect(cert.verify(k.publicKey)).toBe(true);
      expect(cert.serialNumber).toMatch(/^(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/);
    }
  });

  it('routes /<key hash>/<path> to the backend as /<path>, with one X-Forwarded-For', async () => {
    const b = await bastion();
    const echo = (req: Request) =>
      Response.json({
        method: req.method,
        path: new URL(req.url).pathname + new URL(req.url).search,
        xff: req.headers.get('x-forwarded-for'),
      });
    const backend = connectBastion({
      bastion: b.backendAddress,
      key: backendKey,
      ca: serverCert,
      fetch: echo,
    });
    await backend.connected();
    expect(backend.keyHash).toBe(bastionKeyHash(createPublicKey(backendKey)));
    const r = await fetch(`${b.url}/${backend.keyHash}/a/b?c=d`, {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ method: 'GET', path: '/a/b?c=d', xff: '127.0.0.1' });
    // Without an allowlist, an unknown hash and a disconnected backend look alike: 502.
    expect((await fetch(`${b.url}/${'0'.repeat(64)}/x`)).status).toBe(502);
    expect((await fetch(`${b.url}/not-a-hash/x`)).status).toBe(404);
    await backend.close();
    await b.close();
  });

  it('takes backends over TLS 1.3 only', async () => {
    const b = await bastion();
    const [host, port] = b.backendAddress.split(':') as [string, string];
    const err = await new Promise<Error | undefined>((resolve) => {
      const s = tlsConnect({ host, port: Number(port), ca: serverCert, maxVersion: 'TLSv1.2' });
      s.once('secureConnect', () => resolve(undefined));
      s.once('error', resolve);
    });
    expect(err?.message).toMatch(/version|protocol/i);
    await b.close();
  });

  it('answers 421 for an unknown key hash and 503 for a known one not connected', async () => {
    const hash = bastionKeyHash(generateKeyPairSync('ed25519').publicKey);
    const b = await bastion([hash]);
    expect((await fetch(`${b.url}/${'1'.repeat(64)}/add-checkpoint`)).status).toBe(421);
    expect((await fetch(`${b.url}/${hash}/add-checkpoint`)).status).toBe(503);
    await b.close();
  });

  it('refuses a backend that is not on the allowlist, and redials after the bastion restarts', async () => {
    const pub = generateKeyPairSync('ed25519').publicKey;
    const b = await bastion([bastionKeyHash(pub)]);
    const backend = connectBastion({
      bastion: b.backendAddress,
      key: backendKey,
      ca: serverCert,
      fetch: () => new Response('hi'),
      retryMs: 50,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.connected(backend.keyHash)).toBe(false);
    const [host, port] = [b.backendAddress.split(':')[0]!, Number(b.backendAddress.split(':')[1])];
    await b.close();
    const again = await startBastion({
      backends: { host, port },
      clients: loopback,
      key: serverKey,
      cert: serverCert,
      allow: new Set([backend.keyHash]),
    });
    await backend.connected();
    const r = await fetch(`${again.url}/${backend.keyHash}/`);
    expect([r.status, await r.text()]).toEqual([200, 'hi']);
    await backend.close();
    await again.close();
  });
});

describe('a witness behind a bastion', () => {
  let b: Bastion;
  let backend: ReturnType<typeof connectBastion>;
  let state: Awaited<ReturnType<typeof openLocalMap>>;
  beforeAll(async () => {
    let w: Witness;
    ({ w, state } = await openWitness([[ORIGIN, logKey.verifierKey]], [ed, pq]));
    b = await bastion();
    backend = connectBastion({
      bastion: b.backendAddress,
      key: backendKey,
      ca: serverCert,
      fetch: createWitnessApp(w).fetch,
    });
    await backend.connected();
  });
  afterAll(async () => {
    await backend.close();
    await b.close();
    await state.close();
  });

  it('cosigns the checkpoints of `tilelog serve --witness-policy` whose witness URL is the bastion', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-bserve-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'log.key'), logSkey + '\n', { mode: 0o600 });
    const url = `${b.url}/${backend.keyHash}`;
    writeFileSync(
      join(dir, 'policy'),
      `log ${logKey.verifierKey}\nwitness W1 ${ed.verifierKey} ${url}\nwitness W2 ${pq.verifierKey} ${url}\ngroup W all W1 W2\nquorum W\n`,
    );
    let child: Child | undefined;
    try {
      child = await startChild(join(dir, 'data'), [
        '--personality',
        'generic',
        '--witness-policy',
        join(dir, 'policy'),
      ]);
      const r = await fetch(`${child.url}/add`, {
        method: 'POST',
        body: utf8('through the bastion'),
      });
      expect(r.status).toBe(200);
      const { checkpoint } = (await r.json()) as { checkpoint: string };
      const keys = [parseCosignerKey(ed.verifierKey), parseCosignerKey(pq.verifierKey)];
      expect(openNote(checkpoint, keys).sigs.map((s) => s.name)).toEqual([ed.name, pq.name]);
      // The monitoring retrieval through the bastion serves what was cosigned.
      const got = await fetch(`${url}/${toHex(sha256(utf8(ORIGIN)))}/checkpoint`);
      expect(got.status).toBe(200);
      expect(openNote(await got.text(), keys).text).toBe(openNote(checkpoint, keys).text);
    } finally {
      if (child) await kill9(child);
    }
  });
});

describe('tilelog bastion and tilelog witness --bastion', () => {
  it('serve a witness through the bastion command, with an allowlist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-bcli-'));
    writeFileSync(join(dir, 'tls.key'), serverKey);
    writeFileSync(join(dir, 'tls.crt'), serverCert);
    const wkey = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(join(dir, 'b.key'), wkey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const hash = bastionKeyHash(createPublicKey(wkey));
    writeFileSync(join(dir, 'allow'), `# the witness\n${hash}\n`);
    writeFileSync(join(dir, 'w.key'), witnessSecret + '\n');
    writeFileSync(join(dir, 'w.cfg'), `log ${ORIGIN} ${logKey.verifierKey}\n`);
    const args = ['bastion', '--tls-key', join(dir, 'tls.key'), '--tls-cert', join(dir, 'tls.crt')];
    const more = ['--allow', join(dir, 'allow'), '--clients-http'];
    const ports = ['--listen', '127.0.0.1:0', '--backend-listen', '127.0.0.1:0'];
    const proc = spawn(process.execPath, ['bin/tilelog.js', ...args, ...more, ...ports]);
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    let w: Awaited<ReturnType<typeof startWitness>> | undefined;
    try {
      const re = /backends dial (\S+); serving (\S+)\/KEYHASH\//;
      for (let i = 0; i < 200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      const [, backendAddr, url] = re.exec(out) ?? [];
      expect(backendAddr, out).toBeDefined();
      expect((await fetch(`${url}/${hash}/add-checkpoint`, { method: 'POST' })).status).toBe(503);
      w = await startWitness({
        config: join(dir, 'w.cfg'),
        key: join(dir, 'w.key'),
        data: join(dir, 'data'),
        listen: '127.0.0.1:0',
        prefix: '',
        bastion: backendAddr,
        bastionKey: join(dir, 'b.key'),
        bastionCa: join(dir, 'tls.crt'),
      });
      const cp = signNote(`${ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`, [logKey]);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        const r = await fetch(`${url}/${hash}/add-checkpoint`, {
          method: 'POST',
          body: `old 0\n\n${cp}`,
        });
        status = r.status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
      expect((await fetch(`${url}/${'2'.repeat(64)}/add-checkpoint`)).status).toBe(421);
    } finally {
      await w?.close();
      proc.kill('SIGTERM');
    }
  });
});
