/**
 * The Node edge of signing: artifact signing keys in PEM files, their keyDetails, signing a
 * digest with them, key generation and streaming artifact hashing. Everything else in sign/
 * runs without Node.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
} from 'node:crypto';
import { createReadStream } from 'node:fs';

import { p256, p384, p521 } from '@noble/curves/nist.js';

import { concat } from '../bytes.ts';
import {
  ALGORITHMS,
  ed25519phDigest,
  type HashAlgorithm,
  type KeyDetails,
  SHA256_DIGEST_INFO,
} from '../entries/index.ts';
import { badRequest } from '../errors.ts';
import type { ArtifactSigner } from './client.ts';

// keyDetails by key type and curve or modulus size: the algorithms a Rekor v2 log admits for
// hashedrekord (src/entries/algorithms.ts). An Ed25519 key signs as Ed25519ph there, since pure
// Ed25519 would need the artifact itself in the entry.
const BY_CURVE: Record<string, KeyDetails> = {
  prime256v1: 'PKIX_ECDSA_P256_SHA_256',
  secp384r1: 'PKIX_ECDSA_P384_SHA_384',
  secp521r1: 'PKIX_ECDSA_P521_SHA_512',
};
const BY_MODULUS: Record<number, KeyDetails> = {
  2048: 'PKIX_RSA_PKCS1V15_2048_SHA256',
  3072: 'PKIX_RSA_PKCS1V15_3072_SHA256',
  4096: 'PKIX_RSA_PKCS1V15_4096_SHA256',
};

/** keyDetailsOf returns the keyDetails a key signs hashedrekord entries with, or throws. */
export function keyDetailsOf(key: KeyObject): KeyDetails {
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  const kd =
    type === 'ec' && Object.hasOwn(BY_CURVE, String(d.namedCurve))
      ? BY_CURVE[String(d.namedCurve)]
      : type === 'rsa' && Object.hasOwn(BY_MODULUS, Number(d.modulusLength))
        ? BY_MODULUS[Number(d.modulusLength)]
        : type === 'ed25519'
          ? 'PKIX_ED25519_PH'
          : undefined;
  if (kd) return kd;
  const what =
    type === 'ec' ? `EC ${d.namedCurve}` : type === 'rsa' ? `RSA-${d.modulusLength}` : type;
  throw badRequest(
    `a ${what} key cannot sign hashedrekord entries (ECDSA P-256/P-384/P-521, RSA 2048/3072/4096 or Ed25519 keys can)`,
  );
}

const EC = { prime256v1: p256, secp384r1: p384, secp521r1: p521 } as const;

function digestSigner(key: KeyObject): (digest: Uint8Array) => Uint8Array {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    return (digest) =>
      new Uint8Array(
        privateEncrypt(
          { key, padding: constants.RSA_PKCS1_PADDING },
          concat(SHA256_DIGEST_INFO, digest),
        ),
      );
  }
  const jwk = key.export({ format: 'jwk' });
  const secret = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
  if (type === 'ed25519') return (digest) => ed25519phDigest.sign(digest, secret);
  const curve = EC[key.asymmetricKeyDetails!.namedCurve as keyof typeof EC];
  // Hedged (RFC 6979 with fresh randomness): signing a file again makes a new entry, not a 409.
  return (digest) =>
    curve.sign(digest, secret, { prehash: false, format: 'der', extraEntropy: true });
}

/** signerFromKey returns the ArtifactSigner of a private key, with keyDetails from its type. */
export function signerFromKey(key: KeyObject): ArtifactSigner {
  if (key.type !== 'private') throw badRequest('the signing key must be a private key');
  const keyDetails = keyDetailsOf(key);
  const publicKey = new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }));
  return {
    keyDetails,
    hashAlgorithm: ALGORITHMS[keyDetails].hash,
    publicKey,
    signDigest: digestSigner(key),
  };
}

// A P-256 SubjectPublicKeyInfo up to its point (RFC 5480: id-ecPublicKey, prime256v1).
const P256_SPKI_PREFIX = Uint8Array.from(
  Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
);

/** DigestKey is an ECDSA P-256 key held elsewhere (a PKCS#11 token): it signs digests. */
export interface DigestKey {
  /** publicKey is the uncompressed point (SEC 1 §2.3.3, 65 bytes). */
  readonly publicKey: Uint8Array;
  /** sign signs a SHA-256 digest (CKM_ECDSA), returning r || s (32 bytes each). */
  sign(digest: Uint8Array): Promise<Uint8Array>;
}

/**
 * p256Signer is the ArtifactSigner of an ECDSA P-256 key held elsewhere: its signatures are
 * DER-encoded (an ECDSA-Sig-Value, RFC 5480 §2.2), as hashedrekord and sigstore bundles carry.
 */
export function p256Signer(key: DigestKey): ArtifactSigner {
  if (key.publicKey.length !== 65 || key.publicKey[0] !== 0x04)
    throw badRequest('not an uncompressed P-256 point');
  return {
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    hashAlgorithm: 'SHA2_256',
    publicKey: concat(P256_SPKI_PREFIX, key.publicKey),
    signDigest: async (digest) => p256.Signature.fromBytes(await key.sign(digest)).toBytes('der'),
  };
}

/** spkiPem writes a DER SubjectPublicKeyInfo as a PEM public key. */
export function spkiPem(spki: Uint8Array): string {
  const b64 = Buffer.from(spki).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END PUBLIC KEY-----\n`;
}

/** parseSigningKey reads a PEM private key (PKCS#8, or SEC1 / PKCS#1) into an ArtifactSigner. */
export function parseSigningKey(pem: string): ArtifactSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw badRequest(`not an unencrypted PEM private key (${why})`);
  }
  return signerFromKey(key);
}

/** SigningKeyPair is a new key pair as PEM: the private key in PKCS#8, the public one as SPKI. */
export interface SigningKeyPair {
  readonly privatePem: string;
  readonly publicPem: string;
}

/** generateSigningKey makes a key pair that signs as keyDetails (default ECDSA P-256). */
export function generateSigningKey(
  keyDetails: KeyDetails = 'PKIX_ECDSA_P256_SHA_256',
): SigningKeyPair {
  const want = ALGORITHMS[keyDetails] as { key: string; curve?: string; bits?: number };
  const pair =
    want.key === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: want.curve! })
      : want.key === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: want.bits! })
        : generateKeyPairSync('ed25519');
  return {
    privatePem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string,
  };
}

/** hashFile returns a file's digest with a sigstore HashAlgorithm, reading it as a stream. */
export async function hashFile(file: string, algorithm: HashAlgorithm): Promise<Uint8Array> {
  const h = createHash({ SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' }[algorithm]);
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return new Uint8Array(h.digest());
}
