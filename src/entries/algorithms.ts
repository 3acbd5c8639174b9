/**
 * The signing algorithms a hashedrekord 0.0.2 entry may use (Sigstore algorithm registry, as
 * rekor-tiles admits them): the key type, curve or size each keyDetails requires, its pre-hash,
 * and signature verification over a digest (the artifact itself is never sent).
 */
import {
  constants,
  createPublicKey,
  type KeyObject,
  publicDecrypt,
  X509Certificate,
} from 'node:crypto';

import { eddsa } from '@noble/curves/abstract/edwards.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';

import { concat, equal, fromHex, utf8 } from '../bytes.ts';
import { badRequest } from '../errors.ts';
import { DerError, parseCertificate, parseSpki, type SpkiKey } from '../verify/index.ts';
import { validPoint, verifyEcdsaDigest } from './ecdsa.ts';

/** HashAlgorithm names the pre-hash, as protojson spells sigstore's HashAlgorithm enum. */
export type HashAlgorithm = 'SHA2_256' | 'SHA2_384' | 'SHA2_512';

const HASH_SIZE: Record<HashAlgorithm, number> = { SHA2_256: 32, SHA2_384: 48, SHA2_512: 64 };

interface Algorithm {
  readonly hash: HashAlgorithm;
  readonly key: 'rsa' | 'ec' | 'ed25519';
  readonly bits?: number;
  readonly curve?: 'prime256v1' | 'secp384r1' | 'secp521r1';
}

/** ALGORITHMS maps each keyDetails tilelog can admit to what it requires. */
export const ALGORITHMS = {
  PKIX_RSA_PKCS1V15_2048_SHA256: { hash: 'SHA2_256', key: 'rsa', bits: 2048 },
  PKIX_RSA_PKCS1V15_3072_SHA256: { hash: 'SHA2_256', key: 'rsa', bits: 3072 },
  PKIX_RSA_PKCS1V15_4096_SHA256: { hash: 'SHA2_256', key: 'rsa', bits: 4096 },
  PKIX_ECDSA_P256_SHA_256: { hash: 'SHA2_256', key: 'ec', curve: 'prime256v1' },
  PKIX_ECDSA_P384_SHA_384: { hash: 'SHA2_384', key: 'ec', curve: 'secp384r1' },
  PKIX_ECDSA_P521_SHA_512: { hash: 'SHA2_512', key: 'ec', curve: 'secp521r1' },
  PKIX_ED25519_PH: { hash: 'SHA2_512', key: 'ed25519' },
} as const satisfies Record<string, Algorithm>;

/** KeyDetails is a keyDetails value tilelog can admit. */
export type KeyDetails = keyof typeof ALGORITHMS;

/** KEY_DETAILS lists every admissible keyDetails: rekor-tiles' default allowed set. */
export const KEY_DETAILS = Object.keys(ALGORITHMS) as KeyDetails[];

// Values that are valid sigstore keyDetails but refused for hashedrekord, with the reason.
const REFUSED: Record<string, string> = {
  PKIX_ED25519: 'pure Ed25519 signs the artifact itself, not a digest; use PKIX_ED25519_PH',
  PKIX_RSA_PSS_2048_SHA256: 'RSA-PSS is not accepted',
  PKIX_RSA_PSS_3072_SHA256: 'RSA-PSS is not accepted',
  PKIX_RSA_PSS_4096_SHA256: 'RSA-PSS is not accepted',
};

// The PublicKeyDetails enum numbers (protobuf-specs sigstore_common.proto) that name a value this
// file knows. protojson accepts an enum as its number; the entry still spells the name.
const KEY_DETAILS_NUMBER: ReadonlyMap<number, string> = new Map([
  [5, 'PKIX_ECDSA_P256_SHA_256'],
  [7, 'PKIX_ED25519'],
  [8, 'PKIX_ED25519_PH'],
  [9, 'PKIX_RSA_PKCS1V15_2048_SHA256'],
  [10, 'PKIX_RSA_PKCS1V15_3072_SHA256'],
  [11, 'PKIX_RSA_PKCS1V15_4096_SHA256'],
  [12, 'PKIX_ECDSA_P384_SHA_384'],
  [13, 'PKIX_ECDSA_P521_SHA_512'],
  [16, 'PKIX_RSA_PSS_2048_SHA256'],
  [17, 'PKIX_RSA_PSS_3072_SHA256'],
  [18, 'PKIX_RSA_PSS_4096_SHA256'],
]);

/**
 * keyDetailsName reads a PublicKeyDetails enum as protojson does: its name, or its number
 * (an int32). A number this file does not know is returned as text, to be refused by name.
 */
export function keyDetailsName(v: unknown, what = 'verifier.keyDetails'): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)
    return KEY_DETAILS_NUMBER.get(v) ?? String(v);
  throw badRequest(`${what} must be an enum name or number`);
}

/** isKeyDetails reports whether v names an admissible keyDetails (own properties only). */
export function isKeyDetails(v: string): v is KeyDetails {
  return Object.hasOwn(ALGORITHMS, v);
}

/** parseKeyDetails checks keyDetails (a name or enum number) against the allowed set. */
export function parseKeyDetails(raw: unknown, allowed: readonly KeyDetails[]): KeyDetails {
  const v = keyDetailsName(raw);
  // Own properties only: 'toString' or '__proto__' must not find Object.prototype's members.
  if (Object.hasOwn(REFUSED, v)) throw badRequest(`keyDetails ${v}: ${REFUSED[v]}`);
  if (!isKeyDetails(v))
    throw badRequest(`keyDetails ${JSON.stringify(v.slice(0, 60))} is not supported`);
  if (!allowed.includes(v)) throw badRequest(`keyDetails ${v} is not allowed by this log`);
  return v;
}

/** hashOf returns the pre-hash of keyDetails and its digest length. */
export function hashOf(kd: KeyDetails): { algorithm: HashAlgorithm; size: number } {
  const algorithm = ALGORITHMS[kd].hash;
  return { algorithm, size: HASH_SIZE[algorithm] };
}

function isPem(der: Uint8Array): boolean {
  return der.length > 0 && der[0] !== 0x30;
}

// Go's x509 rules (src/verify/x509.ts) decide what a key or certificate is; OpenSSL then loads
// it. A DerError becomes a 400 naming the field and the rule.
function strictly<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof DerError) throw badRequest(`${what}: ${e.message}`);
    throw e;
  }
}

function checkPoint(key: SpkiKey, what: string): void {
  if (key.type === 'ec' && !validPoint(key.curve, key.point))
    throw badRequest(`${what}: EC point is not on curve ${key.curve}`);
}

/** keyFromSpki loads a DER SubjectPublicKeyInfo that Go's x509 reads; PEM is refused. */
export function keyFromSpki(der: Uint8Array): KeyObject {
  const what = 'publicKey.rawBytes';
  if (isPem(der))
    throw badRequest(`${what} must be a DER SubjectPublicKeyInfo (PEM is not accepted)`);
  checkPoint(
    strictly(what, () => parseSpki(der)),
    what,
  );
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    throw badRequest(`${what} is not a DER SubjectPublicKeyInfo`);
  }
}

/** keyFromCertificate loads the key of a DER X.509 certificate Go's x509 reads (no chain check). */
export function keyFromCertificate(der: Uint8Array): KeyObject {
  const what = 'x509Certificate.rawBytes';
  if (isPem(der)) throw badRequest(`${what} must be a DER certificate (PEM is not accepted)`);
  const cert = strictly(what, () => parseCertificate(der));
  checkPoint(cert.key, what);
  try {
    // OpenSSL must read it too (names, extensions), and the key comes from the strict SPKI.
    new X509Certificate(Buffer.from(der));
    return createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
  } catch {
    throw badRequest(`${what} is not a DER X.509 certificate`);
  }
}

/** checkKeyFits throws unless the key's type, curve or size is the one keyDetails names. */
export function checkKeyFits(key: KeyObject, kd: KeyDetails): void {
  const want: Algorithm = ALGORITHMS[kd];
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  const ok =
    type === want.key &&
    (want.bits === undefined || d.modulusLength === want.bits) &&
    (want.curve === undefined || d.namedCurve === want.curve);
  if (!ok) {
    const got =
      type === 'rsa'
        ? `RSA-${d.modulusLength}`
        : type === 'ec'
          ? `EC ${d.namedCurve}`
          : String(type);
    throw badRequest(`key (${got}) does not match keyDetails ${kd}`);
  }
}

/** SHA256_DIGEST_INFO is the DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1). */
export const SHA256_DIGEST_INFO = fromHex('3031300d060960864801650304020105000420')!;

/**
 * ed25519phDigest is Ed25519ph (RFC 8032 §5.1) over a digest already computed: dom2 with phflag
 * 1, and the digest used as PH(M) as it is (PKIX_ED25519_PH's pre-hash is SHA-512); signing
 * clamps the secret scalar as RFC 8032 §5.1.5 step 2 says. Admission verifies with it and
 * `tilelog sign` signs with it.
 */
export const ed25519phDigest = eddsa(ed25519.Point, sha512, {
  adjustScalarBytes: (b: Uint8Array) => {
    b[0]! &= 248;
    b[31]! &= 127;
    b[31]! |= 64;
    return b;
  },
  domain: (data: Uint8Array, ctx: Uint8Array, phflag: boolean) =>
    concat(
      utf8('SigEd25519 no Ed25519 collisions'),
      Uint8Array.of(phflag ? 1 : 0, ctx.length),
      ctx,
      data,
    ),
  prehash: (m: Uint8Array) => m,
});

function ecPoint(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return concat(
    Uint8Array.of(4),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  );
}

/** verifyDigest reports whether signature is valid over digest for key under keyDetails. */
export function verifyDigest(
  key: KeyObject,
  kd: KeyDetails,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const want: Algorithm = ALGORITHMS[kd];
    if (want.key === 'rsa') {
      if (signature.length !== want.bits! / 8) return false;
      const info = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      return equal(new Uint8Array(info), concat(SHA256_DIGEST_INFO, digest));
    }
    if (want.key === 'ec') {
      // Go's crypto/ecdsa accepts high-S signatures, so rekor-tiles does too (and so does this).
      return verifyEcdsaDigest(want.curve!, ecPoint(key), digest, signature);
    }
    const raw = new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(12));
    return ed25519phDigest.verify(signature, digest, raw, { zip215: false });
  } catch {
    return false;
  }
}
