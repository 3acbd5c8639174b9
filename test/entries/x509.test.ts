// Keys and certificates are read as strictly as Go's crypto/x509, which rekor-tiles and Go
// monitors use: the verdicts in spec-vectors/go-x509/x509_verdicts.json were produced by
// tools/go-x509 (Go's ParsePKIXPublicKey and ParseCertificate), and tilelog must agree with each
// one, except where it is deliberately stricter (listed below, with the reason; README says so).
import { createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { keyFromCertificate, keyFromSpki } from '../../src/entries/algorithms.ts';
import { admitCreateEntry, KEY_DETAILS } from '../../src/entries/index.ts';
import { LogError } from '../../src/errors.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { parseCertificate } from '../../src/verify/index.ts';

interface Case {
  name: string;
  kind: 'spki' | 'certificate';
  der: string;
  go: { ok: boolean; key?: string; error?: string };
}
const TABLE = JSON.parse(readFileSync('spec-vectors/go-x509/x509_verdicts.json', 'utf8')) as {
  go_version: string;
  cases: Case[];
};

/** Where Go (1.19, the version that produced the table) accepts and tilelog refuses, and why. */
export const STRICTER: Record<string, string> = {
  'spki/ec p224 uncompressed': 'no hashedrekord algorithm uses P-224 (algorithm registry)',
  'spki/ec extra element inside the SPKI SEQUENCE':
    'not the one DER encoding of the key: Go ignores extra SEQUENCE elements',
  'spki/ec extra element inside the AlgorithmIdentifier':
    'not the one DER encoding of the key: Go ignores extra SEQUENCE elements',
  'spki/rsa trailing byte inside the bit string':
    'not the one DER encoding of the key: Go ignores bytes after RSAPublicKey',
  'spki/rsa extra element inside RSAPublicKey':
    'not the one DER encoding of the key: Go ignores extra SEQUENCE elements',
  'spki/rsa exponent 1':
    "anyone can forge signatures for e = 1; Go's crypto/rsa refuses to verify with it",
  'certificate/extra element after the signature':
    'not DER for a Certificate: Go ignores extra SEQUENCE elements',
  'certificate/spki with an extra element': 'the certificate key must be a canonical SPKI',
  'certificate/unknown key algorithm (1.2.3.4)': 'no key that any keyDetails could verify with',
  'certificate/negative serial':
    'RFC 5280 §4.1.2.2; Go 1.23 and later refuse it too (rekor-tiles is built with a newer Go)',
  'certificate/validity UTCTime without seconds': 'RFC 5280 §4.1.2.5.1 requires seconds and Z',
  'certificate/validity UTCTime with an offset': 'RFC 5280 §4.1.2.5.1 requires seconds and Z',
  'certificate/extensions not in [3]': 'RFC 5280 §4.1: tbsCertificate ends with [3] extensions',
};

function ours(c: { kind: string }, der: Uint8Array): { ok: true } | { ok: false; reason: string } {
  try {
    if (c.kind === 'spki') keyFromSpki(der);
    else keyFromCertificate(der);
    return { ok: true };
  } catch (e) {
    // Refusals are always a typed bad_request, never another error.
    expect(e).toBeInstanceOf(LogError);
    expect((e as LogError).code).toBe('bad_request');
    expect((e as LogError).message).not.toContain('\n');
    return { ok: false, reason: (e as LogError).message };
  }
}

describe(`the crafted key table (verdicts of Go ${TABLE.go_version})`, () => {
  it('has the cases the issue names, and both verdicts', () => {
    const names = TABLE.cases.map((c) => c.name);
    for (const n of [
      'ec p256 compressed point',
      'ec trailing byte after the SPKI',
      'rsa without NULL parameters',
      'ec outer length in long form (81 59)',
      'ec wrong algorithm OID (1.2.840.10045.2.2)',
    ])
      expect(names).toContain(n);
    expect(TABLE.cases.filter((c) => c.go.ok).length).toBeGreaterThan(10);
    expect(TABLE.cases.filter((c) => !c.go.ok).length).toBeGreaterThan(40);
  });

  it.each(TABLE.cases.map((c) => [`${c.kind}/${c.name}`, c] as const))('%s', (id, c) => {
    const der = new Uint8Array(Buffer.from(c.der, 'base64'));
    const got = ours(c, der);
    if (!c.go.ok) expect(got.ok, `Go refuses: ${c.go.error}`).toBe(false);
    else if (Object.hasOwn(STRICTER, id)) expect(got.ok, STRICTER[id]).toBe(false);
    else expect(got, `Go accepts (${c.go.key})`).toEqual({ ok: true });
  });

  it('lists no deviation that the table does not have, or where Go refuses', () => {
    for (const id of Object.keys(STRICTER)) {
      const c = TABLE.cases.find((x) => `${x.kind}/${x.name}` === id);
      expect(c?.go.ok, id).toBe(true);
    }
  });

  it('reads the same key type and size as Go from every key both accept', () => {
    for (const c of TABLE.cases.filter((x) => x.go.ok)) {
      const der = new Uint8Array(Buffer.from(c.der, 'base64'));
      if (!ours(c, der).ok) continue;
      const k = c.kind === 'spki' ? keyFromSpki(der) : keyFromCertificate(der);
      const d = k.asymmetricKeyDetails!;
      const named: Record<string, string> = {
        prime256v1: 'P-256',
        secp384r1: 'P-384',
        secp521r1: 'P-521',
      };
      const desc =
        k.asymmetricKeyType === 'ec'
          ? `ecdsa ${named[d.namedCurve!]}`
          : k.asymmetricKeyType === 'rsa'
            ? `rsa ${d.modulusLength}`
            : k.asymmetricKeyType;
      expect(desc, c.name).toBe(c.go.key);
    }
  });
});

const request = (verifier: Record<string, unknown>) => ({
  hashedRekordRequestV002: {
    digest: Buffer.alloc(32, 1).toString('base64'),
    signature: { content: Buffer.alloc(70, 2).toString('base64'), verifier },
  },
});
const byName = (name: string) => TABLE.cases.find((c) => c.name === name)!;

describe('admission refuses the keys Go cannot read', () => {
  const opts = { allowedKeyDetails: KEY_DETAILS };
  it.each([
    ['ec p256 compressed point', 'PKIX_ECDSA_P256_SHA_256', /EC point must be uncompressed/],
    ['ec trailing byte after the SPKI', 'PKIX_ECDSA_P256_SHA_256', /trailing data/],
    ['rsa without NULL parameters', 'PKIX_RSA_PKCS1V15_2048_SHA256', /missing NULL parameters/],
    ['ec p256 point not on the curve', 'PKIX_ECDSA_P256_SHA_256', /not on curve/],
  ])('%s: 400 naming the rule', (name, kd, reason) => {
    const v = { keyDetails: kd, publicKey: { rawBytes: byName(name).der } };
    expect(() => admitCreateEntry(request(v), opts)).toThrow(reason);
  });

  it('refuses a certificate whose key is compressed, over HTTP, and appends nothing', async () => {
    const signer = parseSignerKey(generateSignerKey('x509.example.test'));
    const log = await Log.open(new MemoryStore(), {
      origin: 'x509.example.test',
      signer,
      maxAgeMs: 1,
    });
    const v = {
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      x509Certificate: { rawBytes: byName('compressed p256 key').der },
    };
    const res = await createApp(log).request('/api/v2/log/entries', {
      method: 'POST',
      body: JSON.stringify(request(v)),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /^x509Certificate.rawBytes: EC point must be uncompressed/,
    );
    expect(log.state.checkpoint.size).toBe(0);
  });
});

// Byte-level mutations of DER: flip, insert, delete, truncate, append.
const mutation = (len: number) =>
  fc.oneof(
    fc.record({
      op: fc.constant('flip'),
      at: fc.nat(len - 1),
      x: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({ op: fc.constant('insert'), at: fc.nat(len), x: fc.nat(255) }),
    fc.record({ op: fc.constant('delete'), at: fc.nat(len - 1), x: fc.constant(0) }),
    fc.record({ op: fc.constant('truncate'), at: fc.nat(len - 1), x: fc.constant(0) }),
  );
function mutate(b: Uint8Array, m: { op: string; at: number; x: number }[]): Uint8Array {
  let out = Buffer.from(b);
  for (const { op, at, x } of m) {
    const i = Math.min(at, out.length);
    if (op === 'flip' && i < out.length) out[i] = out[i]! ^ x;
    if (op === 'insert') out = Buffer.concat([out.subarray(0, i), Buffer.of(x), out.subarray(i)]);
    if (op === 'delete') out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
    if (op === 'truncate') out = out.subarray(0, i);
  }
  return new Uint8Array(out);
}

describe('mutated DER (fast-check)', () => {
  const goodSpki = TABLE.cases.filter(
    (c) => c.kind === 'spki' && c.go.ok && !c.name.includes('p224'),
  );
  const goodCert = TABLE.cases.filter((c) => c.kind === 'certificate' && c.go.ok).slice(0, 3);

  it('an SPKI mutation is refused with a 400 or is the canonical encoding of its key', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...goodSpki),
        fc.array(mutation(600), { minLength: 1, maxLength: 3 }),
        (c, ms) => {
          const der = mutate(new Uint8Array(Buffer.from(c.der, 'base64')), ms);
          if (!ours(c, der).ok) return;
          // Accepted: it must round-trip exactly through the canonical encoder (what Go writes).
          const again = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
          expect(Buffer.from(again.export({ format: 'der', type: 'spki' })).equals(der)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a certificate mutation is refused with a 400 or still parses with a canonical key', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...goodCert),
        fc.array(mutation(700), { minLength: 1, maxLength: 2 }),
        (c, ms) => {
          const der = mutate(new Uint8Array(Buffer.from(c.der, 'base64')), ms);
          if (!ours(c, der).ok) return;
          const { spki } = parseCertificate(der);
          const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
          expect(Buffer.from(key.export({ format: 'der', type: 'spki' })).equals(spki)).toBe(true);
          expect(() => new X509Certificate(Buffer.from(der))).not.toThrow();
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('a request with a mutated key is answered 4xx, never anything else', () => {
    const opts = { allowedKeyDetails: KEY_DETAILS };
    fc.assert(
      fc.property(fc.array(mutation(100), { minLength: 1, maxLength: 3 }), (ms) => {
        const der = mutate(
          new Uint8Array(Buffer.from(byName('ec p256 uncompressed').der, 'base64')),
          ms,
        );
        const v = {
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          publicKey: { rawBytes: Buffer.from(der).toString('base64') },
        };
        try {
          admitCreateEntry(request(v), opts);
        } catch (e) {
          expect(e).toBeInstanceOf(LogError);
          expect((e as LogError).code).toBe('bad_request');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
