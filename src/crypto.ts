/**
 * The one door to hashing and signature primitives. On Node, node:crypto is used: bench/crypto.bench.ts
 * measured one-shot crypto.hash at several times @noble/hashes on 1 KiB leaves and on 65-byte node
 * hashes, and native Ed25519 signing/verification at about 10x @noble/ed25519. Elsewhere (a
 * browser), the same functions fall back to @noble/*, so merkle/, tiles/ and note/ stay portable.
 */
import * as ed from '@noble/ed25519';
import {
  sha256 as nobleSha256,
  sha384 as nobleSha384,
  sha512 as nobleSha512,
} from '@noble/hashes/sha2.js';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';

type NodeCrypto = typeof import('node:crypto');

// A dynamic import keeps bundlers for browsers from pulling node:crypto; it fails there and we
// use noble instead.
const node: NodeCrypto | null = await import('node:crypto').catch(() => null);
const nodeHash = node && typeof node.hash === 'function' ? node.hash : null;

ed.hashes.sha512 = (m: Uint8Array) => nobleSha512(m);

/** sha256 returns SHA-256 of the input. */
export function sha256(data: Uint8Array): Uint8Array {
  if (nodeHash) return fromLatin1(nodeHash('sha256', data, 'binary'));
  return nobleSha256(data);
}

/**
 * sha256Into writes SHA-256 of data to out at offset (32 bytes), allocating no array: the tree's
 * node and leaf hashes are written straight into the tiles they belong to.
 */
export function sha256Into(data: Uint8Array, out: Uint8Array, offset: number): void {
  if (!nodeHash) {
    out.set(nobleSha256(data), offset);
    return;
  }
  const s = nodeHash('sha256', data, 'binary');
  for (let i = 0; i < 32; i++) out[offset + i] = s.charCodeAt(i);
}

// A digest as a 'binary' (latin1) string copied into a small Uint8Array costs about half of what the
// 'buffer' output does: each Buffer gets its own ArrayBuffer, and making one is the larger part
// of hashing a 65-byte node (measured, bench/crypto.bench.ts tree hashing).
function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** digest returns the SHA-2 hash of data named as sigstore's HashAlgorithm enum does. */
export function digest(
  algorithm: 'SHA2_256' | 'SHA2_384' | 'SHA2_512',
  data: Uint8Array,
): Uint8Array {
  if (algorithm === 'SHA2_256') return sha256(data);
  const name = algorithm === 'SHA2_384' ? 'sha384' : 'sha512';
  if (nodeHash) return fromLatin1(nodeHash(name, data, 'binary'));
  return algorithm === 'SHA2_384' ? nobleSha384(data) : nobleSha512(data);
}

/** randomBytes returns n cryptographically secure random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

// DER prefixes for raw Ed25519 keys (RFC 8410): PKCS#8 private key and SubjectPublicKeyInfo.
const PKCS8_ED25519 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_ED25519 = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

/** ed25519SpkiDer returns the DER SubjectPublicKeyInfo of a raw 32-byte Ed25519 public key. */
export function ed25519SpkiDer(publicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(SPKI_ED25519.length + 32);
  out.set(SPKI_ED25519);
  out.set(publicKey, SPKI_ED25519.length);
  return out;
}

/** Ed25519Signer signs messages with a private key derived from a 32-byte seed. */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** ed25519Signer derives an Ed25519 key pair from a 32-byte seed (RFC 8032 §5.1.5). */
export function ed25519Signer(seed: Uint8Array): Ed25519Signer {
  if (seed.length !== 32) throw new RangeError('crypto: Ed25519 seed must be 32 bytes');
  if (node) {
    const der = new Uint8Array(48);
    der.set(PKCS8_ED25519);
    der.set(seed, 16);
    const key = node.createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    const spki = node.createPublicKey(key).export({ format: 'der', type: 'spki' });
    const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
    return { publicKey, sign: (m) => new Uint8Array(node.sign(null, m, key)) };
  }
  const s = Uint8Array.from(seed);
  const publicKey = ed.getPublicKey(s);
  return { publicKey, sign: (m) => ed.sign(m, s) };
}

/** Ed25519Verifier checks signatures by one public key. */
export type Ed25519Verifier = (message: Uint8Array, signature: Uint8Array) => boolean;

/** ed25519Verifier returns a verifier for a raw 32-byte public key (RFC 8032 §5.1.7). */
export function ed25519Verifier(publicKey: Uint8Array): Ed25519Verifier {
  if (publicKey.length !== 32) throw new RangeError('crypto: Ed25519 public key must be 32 bytes');
  if (node) {
    let key: import('node:crypto').KeyObject;
    try {
      key = node.createPublicKey({
        key: Buffer.from(ed25519SpkiDer(publicKey)),
        format: 'der',
        type: 'spki',
      });
    } catch {
      return () => false; // not a point on the curve: nothing verifies
    }
    return (m, sig) => sig.length === 64 && node.verify(null, m, key, sig);
  }
  const pub = Uint8Array.from(publicKey);
  return (m, sig) => {
    try {
      return sig.length === 64 && ed.verify(sig, m, pub);
    } catch {
      return false;
    }
  };
}

/**
 * ecdsaP256Verifier returns a verifier of ASN.1 DER ECDSA P-256/SHA-256 signatures for a DER
 * SubjectPublicKeyInfo, or null when the key is not a P-256 key (or, outside Node, always null:
 * only Ed25519 is portable here).
 */
export function ecdsaP256Verifier(spki: Uint8Array): Ed25519Verifier | null {
  if (!node) return null;
  try {
    const key = node.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      return null;
    return (m, sig) => {
      try {
        return node.verify('sha256', m, key, sig);
      } catch {
        return false;
      }
    };
  } catch {
    return null;
  }
}

/** MlDsaSigner signs with an ML-DSA-44 key (FIPS 204, pure mode, empty context). */
export interface MlDsaSigner {
  readonly publicKey: Uint8Array; // 1312 bytes
  sign(message: Uint8Array): Uint8Array; // 2420 bytes
}

/** mlDsa44Signer derives an ML-DSA-44 key pair from a 32-byte seed (FIPS 204 ML-DSA.KeyGen_internal). */
export function mlDsa44Signer(seed: Uint8Array): MlDsaSigner {
  if (seed.length !== 32) throw new RangeError('crypto: ML-DSA-44 seed must be 32 bytes');
  const { publicKey, secretKey } = ml_dsa44.keygen(Uint8Array.from(seed));
  return { publicKey, sign: (m) => ml_dsa44.sign(m, secretKey) };
}

/** mlDsa44Verifier returns a verifier for a 1312-byte ML-DSA-44 public key. */
export function mlDsa44Verifier(publicKey: Uint8Array): Ed25519Verifier {
  if (publicKey.length !== 1312)
    throw new RangeError('crypto: ML-DSA-44 public key must be 1312 bytes');
  const pub = Uint8Array.from(publicKey);
  return (m, sig) => {
    try {
      return sig.length === 2420 && ml_dsa44.verify(sig, m, pub);
    } catch {
      return false;
    }
  };
}
