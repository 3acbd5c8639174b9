import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fromBase64, toBase64 } from '../../src/bytes.ts';
import { hashOf } from '../../src/entries/algorithms.ts';
import { hashedRekordBody, verifierJson } from '../../src/entries/hashedrekord.ts';
import { admitCreateEntry, KEY_DETAILS } from '../../src/entries/index.ts';
import { canonicalize } from '../../src/entries/jcs.ts';
import { LogError } from '../../src/errors.ts';
import { makeSigner, request } from '../helpers/signers.ts';

const opts = { allowedKeyDetails: KEY_DETAILS };
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const PROD = JSON.parse(
  readFileSync(
    'spec-vectors/sigstore-sigstore-js/prod-log2025-1_hashedrekord-0.0.2_bundle.sigstore.json',
    'utf8',
  ),
);
const entry = PROD.verificationMaterial.tlogEntries[0];
const prodBody = JSON.parse(text(fromBase64(entry.canonicalizedBody)!));
const prodSpec = prodBody.spec.hashedRekordV002;

describe('hashedrekord 0.0.2 admission', () => {
  it('reproduces a production log2025-1 canonical body byte for byte (real P-256 signature)', () => {
    const req = {
      hashedRekordRequestV002: { digest: prodSpec.data.digest, signature: prodSpec.signature },
    };
    const got = admitCreateEntry(req, opts);
    expect(text(got.body)).toBe(text(fromBase64(entry.canonicalizedBody)!));
    expect([got.kind, got.version]).toEqual(['hashedrekord', '0.0.2']);
  });

  it('admits the certificate form (the production certificate carries the same key)', () => {
    const sig = {
      ...prodSpec.signature,
      verifier: {
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        x509Certificate: { rawBytes: PROD.verificationMaterial.certificate.rawBytes },
      },
    };
    const got = JSON.parse(
      text(
        admitCreateEntry(
          { hashedRekordRequestV002: { digest: prodSpec.data.digest, signature: sig } },
          opts,
        ).body,
      ),
    );
    expect(got.spec.hashedRekordV002.signature.verifier.x509Certificate.rawBytes).toBe(
      PROD.verificationMaterial.certificate.rawBytes,
    );
  });

  it('builds the CLIENTS.md example body (which uses the legacy hashedRekordV0_0_2 key)', () => {
    const req = JSON.parse(
      readFileSync(
        'spec-vectors/sigstore-rekor-tiles/clients-md_example_create-entry_request.derived.json',
        'utf8',
      ),
    );
    const legacy = text(
      fromBase64(
        JSON.parse(
          readFileSync(
            'spec-vectors/sigstore-rekor-tiles/clients-md_example_create-entry_response.json',
            'utf8',
          ),
        ).canonicalizedBody,
      )!,
    );
    expect(text(admitCreateEntry(req, opts).body)).toBe(
      legacy.replace('hashedRekordV0_0_2', 'hashedRekordV002'),
    );
  });

  for (const kd of KEY_DETAILS) {
    it(`admits ${kd} and rejects its tampered and mismatched variants`, () => {
      const s = makeSigner(kd);
      const artifact = new TextEncoder().encode(`artifact for ${kd}`);
      const body = JSON.parse(text(admitCreateEntry(request(s, artifact), opts).body));
      expect(body.spec.hashedRekordV002.signature.verifier.keyDetails).toBe(kd);
      const other = new TextEncoder().encode('another artifact');
      const wrong = request(s, artifact, {
        digest: Buffer.from(s.digest(other)).toString('base64'),
      });
      expect(() => admitCreateEntry(wrong, opts)).toThrow(/does not verify/);
      const short = request(s, artifact, {
        digest: Buffer.from(s.digest(artifact).subarray(1)).toString('base64'),
      });
      expect(() => admitCreateEntry(short, opts)).toThrow(/digest length \d+ does not match/);
      const mismatched = { ...request(s, artifact) };
      const kd2 =
        kd === 'PKIX_ECDSA_P256_SHA_256' ? 'PKIX_ECDSA_P384_SHA_384' : 'PKIX_ECDSA_P256_SHA_256';
      (mismatched.hashedRekordRequestV002.signature.verifier as { keyDetails: string }).keyDetails =
        kd2;
      expect(() => admitCreateEntry(mismatched, opts)).toThrow(LogError);
    });
  }

  it('accepts proto field names and URL-safe unpadded base64, producing the same body', () => {
    const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
    const a = new TextEncoder().encode('names');
    const r = request(s, a).hashedRekordRequestV002;
    const url = (b: string) => b.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const snake = {
      hashed_rekord_request_v002: {
        digest: url(r.digest),
        signature: {
          content: url(r.signature.content),
          verifier: {
            key_details: 'PKIX_ECDSA_P256_SHA_256',
            public_key: { raw_bytes: url(r.signature.verifier.publicKey.rawBytes) },
          },
        },
      },
    };
    expect(admitCreateEntry(snake, opts).body).toEqual(
      admitCreateEntry({ hashedRekordRequestV002: r }, opts).body,
    );
  });

  it('refuses pure Ed25519, RSA-PSS, PEM keys, unknown fields, both key forms, and disallowed algorithms', () => {
    const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
    const a = new TextEncoder().encode('refusals');
    const base = () => JSON.parse(JSON.stringify(request(s, a)));
    const cases: [string, (r: any) => void, RegExp][] = [
      [
        'pure ed25519',
        (r) => (r.hashedRekordRequestV002.signature.verifier.keyDetails = 'PKIX_ED25519'),
        /PKIX_ED25519_PH/,
      ],
      [
        'rsa-pss',
        (r) =>
          (r.hashedRekordRequestV002.signature.verifier.keyDetails = 'PKIX_RSA_PSS_2048_SHA256'),
        /RSA-PSS/,
      ],
      [
        'pem',
        (r) =>
          (r.hashedRekordRequestV002.signature.verifier.publicKey.rawBytes = Buffer.from(
            s.publicKey!.export({ format: 'pem', type: 'spki' }),
          ).toString('base64')),
        /PEM/,
      ],
      ['unknown top', (r) => (r.extra = 1), /exactly one|unknown/],
      [
        'unknown nested',
        (r) => (r.hashedRekordRequestV002.signature.verifier.publicKey.extra = 'x'),
        /unknown field/,
      ],
      [
        'both forms',
        (r) =>
          (r.hashedRekordRequestV002.signature.verifier.x509Certificate = { rawBytes: 'AA==' }),
        /exactly one/,
      ],
      [
        'no verifier',
        (r) => delete r.hashedRekordRequestV002.signature.verifier,
        /verifier is missing/,
      ],
      ['bad base64', (r) => (r.hashedRekordRequestV002.digest = 'not base64!'), /not base64/],
      ['wrong type', (r) => (r.hashedRekordRequestV002.digest = 12), /base64 string/],
      [
        'dsse',
        (r) => {
          r.dsseRequestV002 = {};
          delete r.hashedRekordRequestV002;
        },
        /dsse/,
      ],
      [
        'not a key',
        (r) => (r.hashedRekordRequestV002.signature.verifier.publicKey.rawBytes = 'MAA='),
        /SubjectPublicKeyInfo/,
      ],
    ];
    for (const [name, mutate, want] of cases) {
      const r = base();
      mutate(r);
      expect(() => admitCreateEntry(r, opts), name).toThrow(want);
    }
    expect(() =>
      admitCreateEntry(request(s, a), { allowedKeyDetails: ['PKIX_ED25519_PH'] }),
    ).toThrow(/not allowed/);
  });

  it('never crashes on arbitrary JSON: every rejection is a LogError', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        try {
          admitCreateEntry(v, opts);
        } catch (e) {
          expect(e).toBeInstanceOf(LogError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('writes the canonical entry canonicalize() would, for every algorithm and verifier kind', () => {
    const bytes = fc.uint8Array({ minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(
        fc.constantFrom(...KEY_DETAILS),
        bytes,
        bytes,
        bytes,
        fc.boolean(),
        (keyDetails, digest, content, raw, isKey) => {
          const { algorithm } = hashOf(keyDetails);
          const v = isKey ? { keyDetails, publicKey: raw } : { keyDetails, x509Certificate: raw };
          const entry = {
            apiVersion: '0.0.2',
            kind: 'hashedrekord',
            spec: {
              hashedRekordV002: {
                data: { algorithm, digest: toBase64(digest) },
                signature: { content: toBase64(content), verifier: verifierJson(v) },
              },
            },
          };
          expect(hashedRekordBody(algorithm, digest, content, v)).toBe(canonicalize(entry));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('canonicalizes as RFC 8785 (sorted keys, no white space)', () => {
    expect(canonicalize({ b: [1, 'x', null, true], a: { d: '\u2028"', c: {} } })).toBe(
      '{"a":{"c":{},"d":"\u2028\\""},"b":[1,"x",null,true]}',
    );
  });
});
