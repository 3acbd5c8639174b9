// The native-assisted ECDSA digest verifier must accept exactly what textbook ECDSA accepts:
// differential tests against @noble/curves on valid, high-S, tampered and negated-key signatures.
import { createHash } from 'node:crypto';

import { p256, p384, p521 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type EcCurve, verifyEcdsaDigest } from '../../src/entries/ecdsa.ts';

const CASES: [EcCurve, typeof p256, string][] = [
  ['prime256v1', p256, 'sha256'],
  ['secp384r1', p384, 'sha384'],
  ['secp521r1', p521, 'sha512'],
];

describe.each(CASES)('verifyEcdsaDigest on %s', (name, curve, hash) => {
  const noble = (sig: Uint8Array, d: Uint8Array, pub: Uint8Array) => {
    try {
      return curve.verify(sig, d, pub, { prehash: false, lowS: false, format: 'der' });
    } catch {
      return false;
    }
  };

  it('agrees with @noble/curves on valid, high-S, tampered and wrong-key signatures', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(1000), (msg, flip) => {
        const { secretKey, publicKey } = curve.keygen();
        const pub = curve.getPublicKey(secretKey, false);
        const d = new Uint8Array(createHash(hash).update(msg).digest());
        const sig = curve.sign(d, secretKey, { prehash: false, format: 'der' });
        expect(verifyEcdsaDigest(name, pub, d, sig)).toBe(true);
        // High-S form of the same signature: Go (and so rekor-tiles) accepts it.
        const parsed = curve.Signature.fromBytes(sig, 'der');
        const high = new curve.Signature(parsed.r, curve.Point.Fn.neg(parsed.s)).toBytes('der');
        expect(verifyEcdsaDigest(name, pub, d, high)).toBe(noble(high, d, pub));
        expect(verifyEcdsaDigest(name, pub, d, high)).toBe(true);
        // The negated key -Q: a signature valid for it must not pass for Q, and vice versa.
        const negPub = curve.Point.fromBytes(pub).negate().toBytes(false);
        expect(verifyEcdsaDigest(name, negPub, d, sig)).toBe(noble(sig, d, negPub));
        expect(verifyEcdsaDigest(name, negPub, d, sig)).toBe(false);
        // Tampered digest and signature.
        const d2 = d.slice();
        d2[flip % d2.length]! ^= 1 << (flip % 8);
        expect(verifyEcdsaDigest(name, pub, d2, sig)).toBe(noble(sig, d2, pub));
        const s2 = sig.slice();
        s2[s2.length - 1 - (flip % 8)]! ^= 1;
        expect(verifyEcdsaDigest(name, pub, d, s2)).toBe(noble(s2, d, pub));
        void publicKey;
      }),
      { numRuns: 40 },
    );
  });

  it('rejects malformed signatures and points without throwing', () => {
    const { secretKey } = curve.keygen();
    const pub = curve.getPublicKey(secretKey, false);
    const d = new Uint8Array(createHash(hash).update('x').digest());
    for (const bad of [new Uint8Array(0), Uint8Array.of(0x30, 0), new Uint8Array(70).fill(0x30)]) {
      expect(verifyEcdsaDigest(name, pub, d, bad)).toBe(false);
    }
    const sig = curve.sign(d, secretKey, { prehash: false, format: 'der' });
    expect(verifyEcdsaDigest(name, pub.slice(0, 10), d, sig)).toBe(false);
  });
});

describe('ecSpki', () => {
  it('recognizes the SPKI of each curve as OpenSSL writes it, and nothing else', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { ecSpki } = await import('../../src/entries/ecdsa.ts');
    for (const [name] of CASES) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: name });
      const der = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
      const jwk = publicKey.export({ format: 'jwk' });
      const got = ecSpki(der);
      expect(got?.curve).toBe(name);
      expect(Buffer.from(got!.point)).toEqual(
        Buffer.concat([
          Buffer.of(4),
          Buffer.from(jwk.x!, 'base64url'),
          Buffer.from(jwk.y!, 'base64url'),
        ]),
      );
      const offCurve = der.slice();
      offCurve[offCurve.length - 1]! ^= 1;
      expect(ecSpki(offCurve)).toBeNull();
      expect(ecSpki(der.subarray(0, der.length - 1))).toBeNull();
    }
    const { publicKey: ed } = generateKeyPairSync('ed25519');
    expect(ecSpki(new Uint8Array(ed.export({ format: 'der', type: 'spki' })))).toBeNull();
  });

  it('answers a key seen before the same, and keeps it when the caller reuses its buffer', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { ecSpki } = await import('../../src/entries/ecdsa.ts');
    const der = new Uint8Array(
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      }),
    );
    const buf = der.slice();
    const first = ecSpki(buf)!;
    const point = Buffer.from(first.point);
    buf.fill(0); // the request's buffer, reused
    expect(Buffer.from(first.point)).toEqual(point);
    const again = ecSpki(der.slice())!;
    expect(Buffer.from(again.point)).toEqual(point);
    expect(again.Q.equals(first.Q)).toBe(true);
    // An off-curve key that shares nothing but its length is still refused, seen or not.
    const off = der.slice();
    off[off.length - 1]! ^= 1;
    expect(ecSpki(off)).toBeNull();
    expect(ecSpki(off)).toBeNull();
  });
});
