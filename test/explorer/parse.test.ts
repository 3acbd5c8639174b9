// The explorer's parsers of untrusted input, in Node (they have no DOM): entries and certificates
// from a log (decodeEntry, certInfo: never throw, read real certificates right), and what a user
// types or links (parseQuery, parseIndex: a typed reason for anything else).
import { generateKeyPairSync } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fromHex, toBase64, toHex } from '../../src/bytes.ts';
import { sha256 } from '../../src/crypto.ts';
import { LogError } from '../../src/errors.ts';
import { certInfo } from '../../src/explorer/certinfo.ts';
import { decodeEntry } from '../../src/explorer/decode.ts';
import { parseIndex, parseQuery } from '../../src/explorer/search.ts';
import { digestKey, issuerSanKey, sanKey } from '../../src/vindex/index.ts';
import { makeCert } from '../vindex/certs.ts';

const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const cert = makeCert(
  { sans: [{ email: 'a@example.com' }, { uri: 'https://x.test/w' }], issuer: 'https://iss.test' },
  pair,
);

function body(der: Uint8Array): Uint8Array {
  const e = {
    apiVersion: '0.0.2',
    kind: 'hashedrekord',
    spec: {
      hashedRekordV002: {
        data: { algorithm: 'SHA2_256', digest: toBase64(sha256(Uint8Array.of(1))) },
        signature: {
          content: 'AA==',
          verifier: {
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            x509Certificate: { rawBytes: toBase64(der) },
          },
        },
      },
    },
  };
  return new TextEncoder().encode(JSON.stringify(e));
}

describe('decodeEntry and certInfo', () => {
  it('read a Fulcio-like certificate: subject, issuer, validity, SANs, OIDC issuer, key', () => {
    const d = decodeEntry(body(cert.der));
    expect(d.problems).toEqual([]);
    expect(d.digest).toEqual({ algorithm: 'sha256', hex: toHex(sha256(Uint8Array.of(1))) });
    expect(d.signatures[0]!.certificate).toEqual({
      subject: '(empty)',
      issuerName: 'O=sigstore.dev',
      serial: '012345',
      notBefore: '2025-12-14T02:04:39Z',
      notAfter: '2025-12-14T02:14:39Z',
      sans: ['a@example.com', 'https://x.test/w'],
      oidcIssuer: 'https://iss.test',
      keyType: 'ECDSA P-256',
      spkiSha256: toHex(sha256(cert.spki)),
    });
  });

  it('never throw on any bytes, nor on any one-byte change of a certificate', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(decodeEntry(b).problems.length).toBeGreaterThan(0);
      }),
    );
    for (let i = 0; i < cert.der.length; i++) {
      const m = cert.der.slice();
      m[i]! ^= 0x55;
      const info = certInfo(m);
      if (info) expect(typeof info.subject).toBe('string');
      expect(decodeEntry(body(m)).signatures.length).toBe(1);
    }
  });
});

describe('parseQuery and parseIndex', () => {
  it('turn each kind of search into the map function’s typed key', () => {
    const hex = 'ab'.repeat(32);
    const q = (s: string) => parseQuery(new URLSearchParams(s)).keyString;
    expect(q(`digest=sha256:${hex}`)).toBe(digestKey('sha256', fromHex(hex)!));
    expect(q(`key=sha256:${hex}`)).toBe(`key:sha256:${hex}`);
    expect(q('san=a%40b.c')).toBe(sanKey('a@b.c'));
    expect(q('san=a%40b.c&issuer=https%3A%2F%2Fi')).toBe(issuerSanKey('https://i', 'a@b.c'));
    expect(parseQuery(new URLSearchParams(`digest=sha256:${hex}&start=50`)).start).toBe(50);
  });

  it('refuse anything else with a bad_request LogError', () => {
    for (const s of [
      '',
      'digest=sha256:ab',
      'key=sha384:' + 'a'.repeat(96),
      'issuer=x',
      'san=',
      'x=1',
      'san=a&key=b',
      'digest=sha256:' + 'a'.repeat(64) + '&start=01',
    ])
      expect(() => parseQuery(new URLSearchParams(s)), s).toThrow(LogError);
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('digest', 'key', 'san', 'issuer', 'start', 'x'), fc.string()),
        (d) => {
          try {
            parseQuery(new URLSearchParams(d));
          } catch (err) {
            expect(err).toBeInstanceOf(LogError);
            expect((err as LogError).code).toBe('bad_request');
          }
        },
      ),
    );
  });

  it('parseIndex accepts exactly canonical decimal numbers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        let n: number | null = null;
        try {
          n = parseIndex(s);
        } catch (err) {
          expect(err).toBeInstanceOf(LogError);
        }
        if (n !== null) expect(String(n)).toBe(s);
      }),
    );
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expect(parseIndex(String(n))).toBe(n);
      }),
    );
  });
});
