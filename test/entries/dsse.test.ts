import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { fromBase64 } from '../../src/bytes.ts';
import { admitCreateEntry, KEY_DETAILS } from '../../src/entries/index.ts';
import { pae } from '../../src/verify/index.ts';
import { verifyBundle } from '../../src/verify/index.ts';

const opts = { allowedKeyDetails: KEY_DETAILS, acceptDsse: true };
const DSSE = JSON.parse(
  readFileSync(
    'spec-vectors/sigstore-sigstore-js/prod-log2025-1_dsse-0.0.2_bundle.sigstore.json',
    'utf8',
  ),
);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const b64 = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64');

function prodRequest() {
  const body = JSON.parse(
    text(fromBase64(DSSE.verificationMaterial.tlogEntries[0].canonicalizedBody)!),
  );
  return {
    dsseRequestV002: {
      envelope: {
        payload: DSSE.dsseEnvelope.payload,
        payloadType: DSSE.dsseEnvelope.payloadType,
        signatures: DSSE.dsseEnvelope.signatures.map((s: { sig: string }) => ({
          sig: s.sig,
          keyid: '',
        })),
      },
      verifiers: [body.spec.dsseV002.signatures[0].verifier],
    },
  };
}

describe('dsse 0.0.2 admission (opt-in)', () => {
  it('is refused by default', () => {
    expect(() => admitCreateEntry(prodRequest(), { allowedKeyDetails: KEY_DETAILS })).toThrow(
      /dsse entries are not accepted/,
    );
  });

  it('reproduces a production log2025-1 dsse body byte for byte', () => {
    const got = admitCreateEntry(prodRequest(), opts);
    expect(text(got.body)).toBe(
      text(fromBase64(DSSE.verificationMaterial.tlogEntries[0].canonicalizedBody)!),
    );
    expect([got.kind, got.version]).toEqual(['dsse', '0.0.2']);
  });

  it('admits pure Ed25519 and ECDSA signers, sorting signatures by their bytes', () => {
    const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    const type = 'application/vnd.in-toto+json';
    const ed = generateKeyPairSync('ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const m = pae(type, payload);
    const sigs = [sign(null, m, ed.privateKey), sign('sha256', m, ec.privateKey)];
    const spki = (k: typeof ed.publicKey) => b64(k.export({ format: 'der', type: 'spki' }));
    const req = {
      dsseRequestV002: {
        envelope: {
          payload: b64(payload),
          payloadType: type,
          signatures: sigs.map((s) => ({ sig: b64(s), keyid: '' })),
        },
        verifiers: [
          { publicKey: { rawBytes: spki(ec.publicKey) }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
          { publicKey: { rawBytes: spki(ed.publicKey) }, keyDetails: 'PKIX_ED25519' },
        ],
      },
    };
    const body = JSON.parse(text(admitCreateEntry(req, opts).body));
    const logged = body.spec.dsseV002.signatures;
    expect(logged).toHaveLength(2);
    const order = [...sigs].sort(Buffer.compare).map(b64);
    expect(logged.map((s: { content: string }) => s.content)).toEqual(order);
    for (const s of logged) {
      const want = s.content === b64(sigs[0]!) ? 'PKIX_ED25519' : 'PKIX_ECDSA_P256_SHA_256';
      expect(s.verifier.keyDetails).toBe(want);
    }
    const dup = JSON.parse(JSON.stringify(req));
    dup.dsseRequestV002.verifiers.push(dup.dsseRequestV002.verifiers[0]);
    expect(() => admitCreateEntry(dup, opts)).toThrow(/duplicate verifiers/);
    const unverified = JSON.parse(JSON.stringify(req));
    unverified.dsseRequestV002.verifiers.pop();
    expect(() => admitCreateEntry(unverified, opts)).toThrow(
      /all signatures must have a key that verifies it/,
    );
    const empty = JSON.parse(JSON.stringify(req));
    empty.dsseRequestV002.envelope.signatures = [];
    expect(() => admitCreateEntry(empty, opts)).toThrow(/1 to 10 signatures/);
    const many = JSON.parse(JSON.stringify(req));
    many.dsseRequestV002.verifiers = Array(11).fill(req.dsseRequestV002.verifiers[0]);
    expect(() => admitCreateEntry(many, opts)).toThrow(/1 to 10 verifiers/);
  });

  it('still verifies as a bundle (the body agrees with the production envelope)', () => {
    expect(
      verifyBundle(
        DSSE,
        JSON.parse(
          readFileSync(
            'spec-vectors/sigstore-trust-roots/tuf-repo-cdn.sigstore.dev/trusted_root.json',
            'utf8',
          ),
        ),
      ).valid,
    ).toBe(true);
  });
});
