// Artifact signers for every admissible keyDetails, built with node:crypto (and noble for
// Ed25519ph), as a sigstore client would sign: over the artifact, with the algorithm's pre-hash.
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

import { ed25519ph } from '@noble/curves/ed25519.js';

import type { KeyDetails } from '../../src/entries/index.ts';
import { formatCheckpoint, type NoteSigner } from '../../src/note/index.ts';
import { signNote } from '../../src/note/note.ts';

export interface TestSigner {
  readonly keyDetails: KeyDetails;
  readonly spki: Uint8Array;
  readonly publicKey: KeyObject | null;
  digest(artifact: Uint8Array): Uint8Array;
  sign(artifact: Uint8Array): Uint8Array;
}

const der = (k: KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));
const hash = (alg: string) => (a: Uint8Array) => new Uint8Array(createHash(alg).update(a).digest());

function nodeSigner(
  keyDetails: KeyDetails,
  alg: string,
  pair: { publicKey: KeyObject; privateKey: KeyObject },
): TestSigner {
  return {
    keyDetails,
    spki: der(pair.publicKey),
    publicKey: pair.publicKey,
    digest: hash(alg),
    sign: (a) => new Uint8Array(sign(alg, a, pair.privateKey)),
  };
}

export function makeSigner(kd: KeyDetails): TestSigner {
  switch (kd) {
    case 'PKIX_ECDSA_P256_SHA_256':
      return nodeSigner(kd, 'sha256', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
    case 'PKIX_ECDSA_P384_SHA_384':
      return nodeSigner(kd, 'sha384', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }));
    case 'PKIX_ECDSA_P521_SHA_512':
      return nodeSigner(kd, 'sha512', generateKeyPairSync('ec', { namedCurve: 'secp521r1' }));
    case 'PKIX_RSA_PKCS1V15_2048_SHA256':
      return nodeSigner(kd, 'sha256', generateKeyPairSync('rsa', { modulusLength: 2048 }));
    case 'PKIX_RSA_PKCS1V15_3072_SHA256':
      return nodeSigner(kd, 'sha256', generateKeyPairSync('rsa', { modulusLength: 3072 }));
    case 'PKIX_RSA_PKCS1V15_4096_SHA256':
      return nodeSigner(kd, 'sha256', generateKeyPairSync('rsa', { modulusLength: 4096 }));
    case 'PKIX_ED25519_PH': {
      const { secretKey, publicKey } = ed25519ph.keygen();
      const prefix = Buffer.from('302a300506032b6570032100', 'hex');
      return {
        keyDetails: kd,
        spki: new Uint8Array(Buffer.concat([prefix, publicKey])),
        publicKey: null,
        digest: hash('sha512'),
        sign: (a) => ed25519ph.sign(a, secretKey),
      };
    }
  }
}

export function request(
  s: TestSigner,
  artifact: Uint8Array,
  override: Record<string, unknown> = {},
) {
  return {
    hashedRekordRequestV002: {
      digest: Buffer.from(s.digest(artifact)).toString('base64'),
      signature: {
        content: Buffer.from(s.sign(artifact)).toString('base64'),
        verifier: {
          publicKey: { rawBytes: Buffer.from(s.spki).toString('base64') },
          keyDetails: s.keyDetails,
        },
      },
      ...override,
    },
  };
}

/** signedCheckpoint is log's checkpoint of a tree of size entries with root, and its note. */
export function signedCheckpoint(log: NoteSigner, size: number, root: Uint8Array) {
  const text = formatCheckpoint({ origin: log.name, size, root, extensions: [] });
  return { text, note: signNote(text, [log]) };
}
