// `tilelog sign` with an ECDSA P-256 key in a real SoftHSM2 token: keygen --signing --pkcs11
// makes it there (sensitive, not extractable) and writes only signing.pub; the token signs the
// SHA-256 digest (CKM_ECDSA) and the DER signature in the bundle passes @sigstore/verify and
// `tilelog verify-bundle`. A key of the wrong type is refused in one line, writing nothing.
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateEd25519 } from '../../src/pkcs11/index.ts';
import { A, CKO_PRIVATE_KEY, Module } from '../../src/pkcs11/module.ts';
import { runCli } from '../helpers/cli.ts';
import { startLog, type TestLog } from '../sign/log.ts';
import { expectBundleVerifies } from '../sign/verifiers.ts';
import { keyUri, label, MODULE, PIN, TOKEN } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tilelog-pkcs11-sign-'));

describe('tilelog sign with a key in a PKCS#11 token', () => {
  let t: TestLog;
  const object = label('signing');
  const uri = keyUri(object);
  const keys = join(dir, 'keys');
  beforeAll(async () => {
    t = await startLog({ allowedKeyDetails: ['PKIX_ECDSA_P256_SHA_256'] });
  });
  afterAll(() => t.close());

  it('keygen --signing --pkcs11 makes a P-256 key in the token and writes only signing.pub', async () => {
    const r = await runCli(['keygen', '--signing', '--pkcs11', uri, '--out', keys]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/: PKIX_ECDSA_P256_SHA_256 key, hint \S+=\n$/);
    const pub = createPublicKey(readFileSync(join(keys, 'signing.pub')));
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(existsSync(join(keys, 'signing.key'))).toBe(false);
    const m = Module.load(MODULE);
    await m.serial(() => {
      m.initialize();
      const s = m.openSession(m.tokens().find((x) => x.label === TOKEN)!.slot, PIN);
      try {
        const [k] = m.find(s, [
          { type: A.CLASS, value: CKO_PRIVATE_KEY },
          { type: A.LABEL, value: object },
        ]);
        expect(m.attribute(s, k!, A.SENSITIVE)[0]).toBe(1);
        expect(m.attribute(s, k!, A.EXTRACTABLE)[0]).toBe(0);
      } finally {
        m.closeSession(s);
      }
    });
    // Again with the key there: nothing new is made, and signing.pub is not overwritten.
    const again = await runCli(['keygen', '--signing', '--pkcs11', uri, '--out', join(dir, 'k2')]);
    expect(again.code, again.err).toBe(0);
    expect(readFileSync(join(dir, 'k2', 'signing.pub'), 'utf8')).toBe(
      readFileSync(join(keys, 'signing.pub'), 'utf8'),
    );
  });

  it('signs in the token a bundle that @sigstore/verify and verify-bundle accept', async () => {
    const artifact = join(dir, 'release.tar');
    writeFileSync(artifact, 'release bytes signed in a token');
    const r = await runCli(['sign', '--key', uri, '--url', t.baseUrl, artifact], {
      TILELOG_VKEY: t.vkey,
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/PKIX_ECDSA_P256_SHA_256 signature logged at index 0 of /);
    const file = `${artifact}.sigstore.json`;
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    const spki = createPublicKey(readFileSync(join(keys, 'signing.pub')));
    // The signature is DER (ECDSA-Sig-Value), over the artifact's SHA-256.
    const sig = Buffer.from(bundle.messageSignature.signature, 'base64');
    expect(sig[0]).toBe(0x30);
    expect(verify('sha256', readFileSync(artifact), spki, sig)).toBe(true);
    await expectBundleVerifies(t, file, artifact, spki.export({ format: 'der', type: 'spki' }));
  });

  it('refuses an Ed25519 token key, a wrong PIN and an unknown label in one line, writing nothing', async () => {
    const ed = label('ed');
    await generateEd25519(keyUri(ed));
    const artifact = join(dir, 'refused.txt');
    writeFileSync(artifact, 'refused');
    const cases: [string, RegExp][] = [
      [keyUri(ed), /object=ed-[0-9a-f]+ in token tilelog-test is not an ECDSA P-256 key/],
      [keyUri(object, '&pin-value=9999'), /wrong PIN for token tilelog-test/],
      [keyUri(label('absent')), /no key object=absent-[0-9a-f]+ in token tilelog-test/],
    ];
    for (const [key, why] of cases) {
      const r = await runCli([
        'sign',
        '--key',
        key,
        '--url',
        t.baseUrl,
        '--vkey',
        t.vkey,
        artifact,
      ]);
      expect(r.code, key).toBe(1);
      expect(r.err, key).toMatch(why);
      expect(r.err.trim().split('\n'), key).toHaveLength(1);
      expect(existsSync(`${artifact}.sigstore.json`)).toBe(false);
    }
    const k = await runCli([
      'keygen',
      '--signing',
      '--algorithm',
      'PKIX_RSA_PKCS1V15_2048_SHA256',
      '--pkcs11',
      keyUri(label('rsa')),
      '--out',
      join(dir, 'rsa'),
    ]);
    expect(k.code).toBe(1);
    expect(k.err).toMatch(/a PKCS#11 signing key is an ECDSA P-256 key/);
    expect(existsSync(join(dir, 'rsa'))).toBe(false);
    expect(t.log.state.checkpoint.size).toBe(1);
  });
});
