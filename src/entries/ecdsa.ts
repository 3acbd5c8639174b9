/**
 * ECDSA verification over a digest the client computed (FIPS 186-5 §6.4.2), with the scalar
 * multiplications done natively. Node's crypto only verifies ECDSA over a message it hashes
 * itself, and pure-JS verification (@noble/curves) runs at ~590/s per core for P-256, which would
 * bound the whole write path. Node's ECDH does scalar multiplication in OpenSSL, though:
 * getPublicKey() after setPrivateKey(k) is k·G, and computeSecret(P) is x(k·P). Since u2 ≠ 0,
 * R = u1·G + u2·Q = u2·(Q + (u1/u2)·G), so x(R) is one fixed-base multiplication, one point
 * addition in JS and one native x(k·P): exactly the textbook check, with no sign to guess (the
 * tests compare it with @noble/curves on valid, high-S, tampered and negated-key signatures).
 */
import { createECDH } from 'node:crypto';

import { p256, p384, p521 } from '@noble/curves/nist.js';

/** EcCurve names a curve as Node's crypto does. */
export type EcCurve = 'prime256v1' | 'secp384r1' | 'secp521r1';

const CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521 } as const;

/** Point is a decoded curve point (the three curves share the type). */
export type Point = InstanceType<typeof p256.Point>;

// Through hex, one string each way: a byte at a time made two bigints per byte, garbage that the
// admission worker's scavenges then cost on V8's helper threads as well.
function toBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
}

// toBytes returns the len low bytes of n >= 0, big-endian.
function toBytes(n: bigint, len: number): Buffer {
  const hex = n.toString(16);
  if (hex.length >= 2 * len) return Buffer.from(hex.slice(hex.length - 2 * len), 'hex');
  return Buffer.from(hex.padStart(2 * len, '0'), 'hex');
}

// DER SubjectPublicKeyInfo prefixes of named-curve EC keys with an uncompressed point (RFC 5480),
// the only encoding Go's x509.ParsePKIXPublicKey accepts for these curves.
const SPKI_PREFIX: Record<EcCurve, string> = {
  prime256v1: '3059301306072a8648ce3d020106082a8648ce3d030107034200',
  secp384r1: '3076301006072a8648ce3d020106052b81040022036200',
  secp521r1: '30819b301006072a8648ce3d020106052b8104002303818600',
};

const SPKI_PREFIX_BYTES = Object.fromEntries(
  Object.entries(SPKI_PREFIX).map(([curve, hex]) => [curve, Buffer.from(hex, 'hex')]),
) as Record<EcCurve, Buffer>;

// Keys decoded lately, by their DER (as latin1): a signer's key is decoded and checked on the
// curve once (30-50 µs, a tenth of a verification, at load 8), not for each of its entries. A
// cached key owns its point (a copy), so the caller's buffer may be reused. Bounded: when full,
// it starts again empty (a flood of distinct keys costs what no cache would).
const KNOWN = new Map<string, EcKey>();
const KNOWN_MAX = 1024;

/**
 * ecSpki recognizes the DER SPKI of a P-256, P-384 or P-521 key and returns its curve and
 * uncompressed point without asking OpenSSL to parse it (which costs more than the signature
 * check); null means "not one of those", and the caller falls back to the general parser.
 */
export function ecSpki(der: Uint8Array): EcKey | null {
  const k = Buffer.from(der.buffer, der.byteOffset, der.length).toString('latin1');
  const known = KNOWN.get(k);
  if (known) return known;
  const key = decodeSpki(der);
  if (!key) return null;
  if (KNOWN.size >= KNOWN_MAX) KNOWN.clear();
  const own = { ...key, point: key.point.slice() };
  KNOWN.set(k, own);
  return own;
}

function decodeSpki(der: Uint8Array): EcKey | null {
  for (const curve of Object.keys(SPKI_PREFIX) as EcCurve[]) {
    const prefix = SPKI_PREFIX_BYTES[curve];
    const size = 1 + 2 * CURVES[curve].Point.Fp.BYTES;
    if (der.length !== prefix.length + size || !prefix.equals(der.subarray(0, prefix.length)))
      continue;
    const point = der.subarray(prefix.length);
    try {
      const Q = CURVES[curve].Point.fromBytes(point) as Point;
      Q.assertValidity();
      return { curve, point, Q };
    } catch {
      return null;
    }
  }
  return null;
}

/** EcKey is an EC public key: its curve, its uncompressed point, and that point decoded. */
export interface EcKey {
  readonly curve: EcCurve;
  readonly point: Uint8Array;
  /** Q is the point decoded and checked to be on the curve. */
  readonly Q: Point;
}

/** validPoint reports whether an uncompressed point lies on curve (and is not the identity). */
export function validPoint(curve: EcCurve, point: Uint8Array): boolean {
  try {
    CURVES[curve].Point.fromBytes(point).assertValidity();
    return point[0] === 4;
  } catch {
    return false;
  }
}

// The uncompressed encoding of P ≠ O, with one field inversion: Point.toBytes converts to affine
// twice (once to check validity, once to encode), and each inversion costs as much as the native
// scalar multiplication (measured in the admission worker's profile). P = Q + t·G is on the
// curve by construction, and OpenSSL checks a peer point anyway.
function uncompressed(P: Point, size: number): Buffer {
  const { x, y } = P.toAffine();
  return Buffer.concat([Buffer.of(4), toBytes(x, size), toBytes(y, size)]);
}

// One ECDH object per curve, reused: creating one costs about as much as a multiplication.
const ecdhFor = new Map<EcCurve, ReturnType<typeof createECDH>>();

/** verifyEcdsaDigest checks a DER ECDSA signature over digest for an uncompressed public point. */
export function verifyEcdsaDigest(
  curve: EcCurve,
  point: Uint8Array,
  digest: Uint8Array,
  der: Uint8Array,
): boolean {
  let Q: Point;
  try {
    Q = CURVES[curve].Point.fromBytes(point) as Point;
  } catch {
    return false;
  }
  return verifyEcdsaDigestKey({ curve, point, Q }, digest, der);
}

/**
 * verifyEcdsaDigestKey is verifyEcdsaDigest for a key ecSpki already decoded (decoding the
 * point again would cost a few percent of the verification).
 */
export function verifyEcdsaDigestKey(key: EcKey, digest: Uint8Array, der: Uint8Array): boolean {
  const { curve, Q } = key;
  const c = CURVES[curve];
  const Fn = c.Point.Fn;
  const n = Fn.ORDER;
  let r: bigint, s: bigint;
  try {
    ({ r, s } = c.Signature.fromBytes(der, 'der'));
  } catch {
    return false;
  }
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false;
  // bits2int: the leftmost BITS(n) bits of the digest (FIPS 186-5 §6.4.2 step 3).
  let e = toBigint(digest);
  const excess = digest.length * 8 - Fn.BITS;
  if (excess > 0) e >>= BigInt(excess);
  // u1 = e/s and u2 = r/s; u1/u2 = e/r. One inversion of r·s gives both 1/s and 1/r.
  const inv = Fn.inv(Fn.mul(r, s));
  const u2 = Fn.mul(Fn.mul(r, r), inv); // r/s, non-zero
  const t = Fn.mul(Fn.create(e), Fn.mul(s, inv)); // e/r
  let ecdh = ecdhFor.get(curve);
  if (!ecdh) ecdhFor.set(curve, (ecdh = createECDH(curve)));
  // P = Q + (u1/u2)·G; when u1 = 0, P = Q.
  let P = Q;
  if (t !== 0n) {
    ecdh.setPrivateKey(toBytes(t, Fn.BYTES));
    P = Q.add(c.Point.fromBytes(ecdh.getPublicKey()) as Point);
    if (P.is0()) return false; // R = u2·O is the point at infinity
  }
  ecdh.setPrivateKey(toBytes(u2, Fn.BYTES));
  const x = toBigint(ecdh.computeSecret(uncompressed(P, c.Point.Fp.BYTES)));
  return Fn.create(x) === r;
}
