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

type Point = InstanceType<typeof p256.Point>;

function toBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function toBytes(n: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** verifyEcdsaDigest checks a DER ECDSA signature over digest for an uncompressed public point. */
export function verifyEcdsaDigest(curve: EcCurve, point: Uint8Array, digest: Uint8Array, der: Uint8Array): boolean {
  const c = CURVES[curve];
  const Fn = c.Point.Fn;
  const n = Fn.ORDER;
  let r: bigint, s: bigint, Q: Point;
  try {
    ({ r, s } = c.Signature.fromBytes(der, 'der'));
    Q = c.Point.fromBytes(point) as Point;
  } catch {
    return false;
  }
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false;
  // bits2int: the leftmost BITS(n) bits of the digest (FIPS 186-5 §6.4.2 step 3).
  let e = toBigint(digest);
  const excess = digest.length * 8 - Fn.BITS;
  if (excess > 0) e >>= BigInt(excess);
  const w = Fn.inv(s);
  const u1 = Fn.mul(Fn.create(e), w);
  const u2 = Fn.mul(r, w); // non-zero: r and w are
  const ecdh = createECDH(curve);
  // P = Q + (u1/u2)·G; when u1 = 0, P = Q.
  let P = Q;
  const t = Fn.mul(u1, Fn.inv(u2));
  if (t !== 0n) {
    ecdh.setPrivateKey(toBytes(t, Fn.BYTES));
    P = Q.add(c.Point.fromBytes(ecdh.getPublicKey()) as Point);
    if (P.is0()) return false; // R = u2·O is the point at infinity
  }
  ecdh.setPrivateKey(toBytes(u2, Fn.BYTES));
  const x = toBigint(ecdh.computeSecret(Buffer.from(P.toBytes(false))));
  return Fn.create(x) === r;
}
