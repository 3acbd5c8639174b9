// `tilelog keygen --signing` and `tilelog sign` as a user runs them, against a real log: the
// bundle passes `tilelog verify-bundle` and @sigstore/verify; refusals write no bundle.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { runCli } from '../helpers/cli.ts';
import { startLog, type TestLog } from './log.ts';
import { expectBundleVerifies } from './verifiers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tilelog-sign-cli-'));

describe('tilelog keygen --signing', () => {
  it('writes a PKCS#8 key (0600) and its SPKI public key, and never overwrites them', async () => {
    const out = join(dir, 'keys');
    const r = await runCli(['keygen', '--signing', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/signing\.key: PKIX_ECDSA_P256_SHA_256 key, hint \S+=\n$/);
    const pem = readFileSync(join(out, 'signing.key'), 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(statSync(join(out, 'signing.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'signing.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(createPrivateKey(pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const again = await runCli(['keygen', '--signing', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/EEXIST/);
    expect(readFileSync(join(out, 'signing.key'), 'utf8')).toBe(pem);
  });

  it('makes the other algorithms with --algorithm, and only with --signing', async () => {
    const out = join(dir, 'rsa');
    const r = await runCli([
      'keygen',
      '--signing',
      '--algorithm',
      'PKIX_RSA_PKCS1V15_3072_SHA256',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const key = createPrivateKey(readFileSync(join(out, 'signing.key'), 'utf8'));
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(3072);
    const bad = await runCli(['keygen', '--algorithm', 'PKIX_ED25519_PH', '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--algorithm goes with --signing/);
    const unknown = await runCli([
      'keygen',
      '--signing',
      '--algorithm',
      'PKIX_ED25519',
      '--out',
      out,
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/PKIX_ED25519 is not one of/);
  });
});

describe('tilelog sign', () => {
  let t: TestLog;
  let strict: TestLog;
  let rootFile: string;
  const keys = join(dir, 'signer');
  beforeAll(async () => {
    [t, strict] = await Promise.all([
      startLog(),
      startLog({ allowedKeyDetails: ['PKIX_ECDSA_P256_SHA_256'] }),
    ]);
    rootFile = join(dir, 'trusted_root.json');
    writeFileSync(rootFile, JSON.stringify(t.trustedRoot));
    expect((await runCli(['keygen', '--signing', '--out', keys])).code).toBe(0);
  });
  afterAll(async () => {
    await t.close();
    await strict.close();
  });

  it('writes ARTIFACT.sigstore.json that verify-bundle and @sigstore/verify accept', async () => {
    const artifact = join(dir, 'release.tar');
    writeFileSync(artifact, 'release bytes');
    const key = join(keys, 'signing.key');
    const r = await runCli(['sign', '--key', key, '--url', t.baseUrl, artifact], {
      TILELOG_VKEY: t.vkey,
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /PKIX_ECDSA_P256_SHA_256 signature logged at index 0 of 127\.0\.0\.1:\d+/,
    );
    const spki = createPublicKey(readFileSync(join(keys, 'signing.pub')));
    const der = spki.export({ format: 'der', type: 'spki' });
    await expectBundleVerifies(t, `${artifact}.sigstore.json`, artifact, der);
  });

  it('takes the log key from the TrustedRoot that trust-root writes, and writes --out', async () => {
    const trust = join(dir, 'trust');
    const keyFile = join(t.dir, 'log.key');
    const tr = await runCli(['trust-root', '--url', t.baseUrl, '--key', keyFile, '--out', trust]);
    expect(tr.code, tr.err).toBe(0);
    const root = join(trust, 'trusted_root.json');
    const artifact = join(dir, 'notes.txt');
    writeFileSync(artifact, 'notes');
    const out = join(dir, 'notes.bundle.json');
    const key = join(keys, 'signing.key');
    const r = await runCli([
      'sign',
      '--key',
      key,
      '--url',
      `${t.baseUrl}/`,
      '--trusted-root',
      root,
      '--out',
      out,
      artifact,
    ]);
    expect(r.code, r.err).toBe(0);
    const v = await runCli([
      'verify-bundle',
      '--bundle',
      out,
      '--trusted-root',
      root,
      '--artifact',
      artifact,
    ]);
    expect(v.code, v.out).toBe(0);
  });

  it("fails with the log's reason and writes no bundle when the log does not allow the key", async () => {
    const rsa = join(dir, 'rsa', 'signing.key');
    const artifact = join(dir, 'refused.txt');
    writeFileSync(artifact, 'refused');
    const r = await runCli([
      'sign',
      '--key',
      rsa,
      '--url',
      strict.baseUrl,
      '--vkey',
      strict.vkey,
      artifact,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'tilelog sign: the log refused the entry (400): keyDetails PKIX_RSA_PKCS1V15_3072_SHA256 is not allowed by this log\n',
    );
    expect(existsSync(`${artifact}.sigstore.json`)).toBe(false);
    expect(strict.log.state.checkpoint.size).toBe(0);
  });

  it('writes no bundle when the answer does not verify with the given log key', async () => {
    const artifact = join(dir, 'unverified.txt');
    writeFileSync(artifact, 'unverified');
    const impostor = parseSignerKey(generateSignerKey(t.signer.name)).verifierKey;
    const r = await runCli([
      'sign',
      '--key',
      join(keys, 'signing.key'),
      '--url',
      t.baseUrl,
      '--vkey',
      impostor,
      artifact,
    ]);
    expect(r.code).toBe(1);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(
      /^tilelog sign: the log's answer does not verify: logId \S+ is not a trusted key/,
    );
    expect(existsSync(`${artifact}.sigstore.json`)).toBe(false);
  });

  it('needs a log key, one artifact and a URL', async () => {
    const key = join(keys, 'signing.key');
    const cases: [string[], RegExp][] = [
      [['sign', '--key', key, '--url', t.baseUrl, 'a'], /needs --vkey or --trusted-root/],
      [['sign', '--key', key, '--url', t.baseUrl, '--vkey', t.vkey], /needs ARTIFACT/],
      [['sign', '--key', key, '--url', t.baseUrl, '--vkey', t.vkey, 'a', 'b'], /one ARTIFACT/],
      [['sign', '--key', key, '--url', 'nope', '--vkey', t.vkey, 'a'], /--url nope is not a URL/],
    ];
    for (const [argv, want] of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(want);
    }
  });
});
