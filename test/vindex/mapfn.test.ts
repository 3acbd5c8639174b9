// The map function on production Rekor v2 bodies and on certificates made for the purpose,
// with node:crypto's X509Certificate as the oracle for SANs.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { certificateNames, issuerSanKey, mapEntry } from '../../src/vindex/index.ts';
import { makeCert, oid, type San, tlv } from './certs.ts';

const vector = (kind: string) =>
  JSON.parse(
    readFileSync(
      `spec-vectors/sigstore-sigstore-js/prod-log2025-1_${kind}-0.0.2_bundle.sigstore.json`,
      'utf8',
    ),
  ) as { verificationMaterial: { tlogEntries: { canonicalizedBody: string }[] } };
const body = (kind: string) =>
  new Uint8Array(
    Buffer.from(vector(kind).verificationMaterial.tlogEntries[0]!.canonicalizedBody, 'base64'),
  );
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const b64hex = (s: string) => Buffer.from(s, 'base64').toString('hex');

function hashedrekord(verifier: object, digest = Buffer.alloc(32, 7).toString('base64')) {
  return new TextEncoder().encode(
    JSON.stringify({
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest },
          signature: {
            content: 'AA==',
            verifier: { keyDetails: 'PKIX_ECDSA_P256_SHA_256', ...verifier },
          },
        },
      },
    }),
  );
}
const certEntry = (der: Uint8Array) =>
  hashedrekord({ x509Certificate: { rawBytes: Buffer.from(der).toString('base64') } });
const DIGEST7 = `digest:sha256:${'07'.repeat(32)}`;

describe('map function', () => {
  it('maps the production hashedrekord entry (public key) to its digest and key', () => {
    const b = body('hashedrekord');
    const j = JSON.parse(new TextDecoder().decode(b));
    const v = j.spec.hashedRekordV002;
    expect(mapEntry(b)).toEqual({
      keys: [
        `digest:sha256:${b64hex(v.data.digest)}`,
        `key:sha256:${sha256hex(Buffer.from(v.signature.verifier.publicKey.rawBytes, 'base64'))}`,
      ],
      problems: [],
    });
  });

  it('maps the production dsse entry (Fulcio certificate) to digest, SAN, issuer and the pair', () => {
    const b = body('dsse');
    const j = JSON.parse(new TextDecoder().decode(b));
    const der = Buffer.from(
      j.spec.dsseV002.signatures[0].verifier.x509Certificate.rawBytes,
      'base64',
    );
    // The oracle: OpenSSL's reading of the SAN extension.
    expect(new X509Certificate(der).subjectAltName).toBe('email:brian@dehamer.com');
    const iss = 'https://github.com/login/oauth';
    expect(mapEntry(b)).toEqual({
      keys: [
        `digest:sha256:${b64hex(j.spec.dsseV002.payloadHash.digest)}`,
        'san:brian@dehamer.com',
        `issuer:${iss}`,
        issuerSanKey(iss, 'brian@dehamer.com'),
      ],
      problems: [],
    });
    expect(issuerSanKey(iss, 'brian@dehamer.com')).toBe(
      `issuer-san:30:https://github.com/login/oauthbrian@dehamer.com`,
    );
  });

  it('reads every SAN kind, prefers .1.8 over the legacy .1.1, and falls back to .1.1', () => {
    const sans: San[] = [
      { email: 'a@example.com' },
      { uri: 'https://github.com/o/r/.github/workflows/w.yml@refs/heads/main' },
      { username: 'octo' },
      { dns: 'example.com' },
    ];
    const both = makeCert({ sans, issuer: 'https://v2', legacyIssuer: 'https://v1' });
    const values = [
      'a@example.com',
      sans[1] && (sans[1] as { uri: string }).uri,
      'octo',
      'example.com',
    ];
    expect(certificateNames(both.der)).toEqual({ sans: values, issuer: 'https://v2' });
    expect(certificateNames(makeCert({ sans, legacyIssuer: 'https://v1' }).der)!.issuer).toBe(
      'https://v1',
    );
    expect(certificateNames(makeCert({ sans }).der)!.issuer).toBeNull();
    expect(mapEntry(certEntry(both.der)).keys).toEqual([
      DIGEST7,
      ...values.map((v) => `san:${v}`),
      'issuer:https://v2',
      ...values.map((v) => issuerSanKey('https://v2', v as string)),
    ]);
  });

  it('remembers a verifier by both its fields: no text stands for another verifier', () => {
    const spki = makeCert({ sans: [{ email: 'k@example.com' }] }).spki;
    const pk = Buffer.from(spki).toString('base64');
    const cert = makeCert({ sans: [{ email: 'c@example.com' }], issuer: 'https://i' }).der;
    const c64 = Buffer.from(cert).toString('base64');
    const keyOnly = [DIGEST7, `key:sha256:${sha256hex(spki)}`];
    const certOnly = mapEntry(certEntry(cert)).keys;
    expect(certOnly).toContain('san:c@example.com');
    // Texts that spell the other cache's ids, each seen after what it spells.
    const both = { publicKey: { rawBytes: pk }, x509Certificate: { rawBytes: c64 } };
    for (const [verifier, keys] of [
      [{ publicKey: { rawBytes: pk } }, keyOnly],
      [{ x509Certificate: { rawBytes: `${pk.length}:${pk}-` } }, [DIGEST7]],
      [{ x509Certificate: { rawBytes: `-+${c64}` } }, [DIGEST7]],
      [{ publicKey: { rawBytes: pk } }, keyOnly],
      [both, keyOnly],
      [{ x509Certificate: { rawBytes: c64 } }, certOnly],
    ] as const)
      expect(mapEntry(hashedrekord(verifier)).keys).toEqual(keys);
  });

  it('gives each key once, in the order first found', () => {
    const der = makeCert({ sans: [{ email: 'a@x' }, { email: 'a@x' }], issuer: 'https://i' }).der;
    expect(mapEntry(certEntry(der)).keys).toEqual([
      DIGEST7,
      'san:a@x',
      'issuer:https://i',
      issuerSanKey('https://i', 'a@x'),
    ]);
  });

  it('gives each key once for a certificate with many SANs, repeated ones among them', () => {
    const sans = Array.from({ length: 12 }, (_, i) => ({ email: `s${i}@x` }));
    const once = mapEntry(certEntry(makeCert({ sans, issuer: 'https://i' }).der)).keys;
    expect(once).toHaveLength(1 + 1 + 2 * sans.length); // digest, issuer, san and issuer+san each
    const twice = makeCert({ sans: [...sans, ...sans.slice().reverse()], issuer: 'https://i' }).der;
    expect(mapEntry(certEntry(twice)).keys).toEqual(once);
  });

  it('still maps an entry by digest and issuer when the certificate has no SAN', () => {
    const m = mapEntry(certEntry(makeCert({ issuer: 'https://i' }).der));
    expect(m).toEqual({ keys: [DIGEST7, 'issuer:https://i'], problems: ['no_san'] });
  });

  it('maps what it cannot read to no key and says why', () => {
    const der = makeCert({ sans: [{ email: 'x@y' }] }).der;
    expect(mapEntry(certEntry(der.slice(0, der.length - 1)))).toEqual({
      keys: [DIGEST7],
      problems: ['bad_certificate'],
    });
    const dup = makeCert({
      sans: [{ email: 'x@y' }],
      extraExtensions: [
        tlv(0x30, oid('2.5.29.17'), tlv(0x04, tlv(0x30, tlv(0x81, Buffer.from('z@y'))))),
      ],
    });
    expect(certificateNames(dup.der)).toBeNull();
    expect(mapEntry(new TextEncoder().encode('not json'))).toEqual({
      keys: [],
      problems: ['not_json'],
    });
    expect(mapEntry(new TextEncoder().encode('{"kind":"intoto","apiVersion":"0.0.2"}'))).toEqual({
      keys: [],
      problems: ['unknown_kind'],
    });
    expect(mapEntry(hashedrekord({}, 'AAAA'))).toEqual({
      keys: [],
      problems: ['bad_digest', 'bad_verifier'],
    });
  });

  it('reads SANs as OpenSSL does for any printable values (property)', () => {
    const ascii = fc.string({
      minLength: 1,
      maxLength: 30,
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_/:@'.split('')),
    });
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            ascii.map((email) => ({ email })),
            ascii.map((uri) => ({ uri })),
            ascii.map((dns) => ({ dns })),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (sans) => {
          const c = makeCert({ sans });
          const names = certificateNames(c.der)!;
          const oracle = new X509Certificate(c.der)
            .subjectAltName!.split(', ')
            .map((p) => p.replace(/^[A-Za-z ]+:/, ''));
          expect(names.sans).toEqual(oracle);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('never throws, whatever the bytes (property)', () => {
    const base = body('dsse');
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(255), (i, v) => {
        const b = base.slice();
        b[i] = v;
        mapEntry(b);
      }),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void certificateNames(b)));
    fc.assert(fc.property(fc.json(), (j) => void mapEntry(new TextEncoder().encode(j))));
  });

  it('gives distinct keys to distinct (issuer, SAN) pairs (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (i1, s1, i2, s2) => {
        fc.pre(i1 !== i2 || s1 !== s2);
        expect(issuerSanKey(i1, s1)).not.toBe(issuerSanKey(i2, s2));
      }),
    );
  });
});
