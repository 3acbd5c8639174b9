/**
 * dsse 0.0.2 admission, opt-in (AdmitOptions.acceptDsse): rekor-tiles dropped it in v2.3.0
 * (#744), but production logs hold such entries, and some operators may still want to accept
 * them. The rules are the removed validator's (rekor-tiles v2.2.1 pkg/types/dsse): 1–10
 * verifiers with no duplicates, 1–10 non-empty signatures, every verifier's algorithm checked
 * before any verification, and every signature verified over PAE by some verifier. The entry
 * stores SHA-256(payload) and the signatures with the verifier that verified each, sorted by
 * raw signature bytes.
 */
import { type KeyObject, verify as nodeVerify } from 'node:crypto';

import { ed25519ph } from '@noble/curves/ed25519.js';

import { compare, equal, toBase64, utf8 } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { badRequest } from '../errors.ts';
import { pae } from '../verify/index.ts';
import {
  ALGORITHMS,
  checkKeyFits,
  type KeyDetails,
  keyDetailsName,
  parseKeyDetails,
} from './algorithms.ts';
import {
  type AdmitOptions,
  type Admitted,
  parseVerifier,
  type Verifier,
  verifierJson,
  verifierKey,
} from './hashedrekord.ts';
import { canonicalize } from './jcs.ts';
import { bytesField, fields } from './protojson.ts';

const MAX = 10;

function verifyPae(v: Verifier, key: KeyObject, message: Uint8Array, sig: Uint8Array): boolean {
  try {
    if (v.keyDetails === 'PKIX_ED25519') return nodeVerify(null, message, key, sig);
    if (v.keyDetails === 'PKIX_ED25519_PH') {
      const raw = new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(12));
      return ed25519ph.verify(sig, message, raw, { zip215: false });
    }
    const hash = ALGORITHMS[v.keyDetails].hash.replace('SHA2_', 'sha');
    return nodeVerify(hash, message, key, sig);
  } catch {
    return false;
  }
}

function parseDetails(opts: AdmitOptions) {
  // Pure Ed25519 is fine here: DSSE signs the PAE itself, not a digest.
  return (kd: unknown): Verifier['keyDetails'] =>
    keyDetailsName(kd) === 'PKIX_ED25519'
      ? 'PKIX_ED25519'
      : parseKeyDetails(kd, opts.allowedKeyDetails);
}

function loadVerifier(v: Verifier): KeyObject {
  const key = verifierKey(v);
  if (v.keyDetails === 'PKIX_ED25519') {
    if (key.asymmetricKeyType !== 'ed25519')
      throw badRequest('key does not match keyDetails PKIX_ED25519');
  } else checkKeyFits(key, v.keyDetails as KeyDetails);
  return key;
}

/** admitDsse validates a DSSERequestV002 and returns its canonical entry. */
export function admitDsse(req: unknown, opts: AdmitOptions): Admitted {
  const f = fields(req, 'dsseRequestV002', [
    ['envelope', 'envelope'],
    ['verifiers', 'verifiers'],
  ]);
  const env = fields(f.envelope ?? null, 'envelope', [
    ['payload', 'payload'],
    ['payloadType', 'payload_type'],
    ['signatures', 'signatures'],
  ]);
  const payload = bytesField(env.payload ?? '', 'envelope.payload');
  const payloadType = env.payloadType ?? '';
  if (typeof payloadType !== 'string') throw badRequest('envelope.payloadType must be a string');
  const rawVerifiers = f.verifiers;
  if (!Array.isArray(rawVerifiers) || rawVerifiers.length < 1 || rawVerifiers.length > MAX) {
    throw badRequest(`dsseRequestV002 needs 1 to ${MAX} verifiers`);
  }
  const sigs = env.signatures;
  if (!Array.isArray(sigs) || sigs.length < 1 || sigs.length > MAX)
    throw badRequest(`envelope needs 1 to ${MAX} signatures`);
  const signatures = sigs.map((s, i) => {
    const sf = fields(s, `envelope.signatures[${i}]`, [
      ['sig', 'sig'],
      ['keyid', 'keyid'],
    ]);
    const sig = bytesField(sf.sig ?? '', `envelope.signatures[${i}].sig`);
    if (sig.length === 0) throw badRequest(`envelope.signatures[${i}].sig is empty`);
    return sig;
  });
  // Every verifier is parsed and its algorithm checked before any signature is verified.
  const verifiers = rawVerifiers.map((v) => parseVerifier(v, parseDetails(opts)));
  const encoded = verifiers.map((v) => canonicalize(verifierJson(v)));
  if (new Set(encoded).size !== encoded.length)
    throw badRequest('dsseRequestV002 has duplicate verifiers');
  const keys = verifiers.map(loadVerifier);
  const message = pae(payloadType, payload);
  const logged = signatures.map((sig) => {
    const i = verifiers.findIndex((v, k) => verifyPae(v, keys[k]!, message, sig));
    if (i < 0) throw badRequest('all signatures must have a key that verifies it');
    return { sig, verifier: verifiers[i]! };
  });
  logged.sort((a, b) => compare(a.sig, b.sig));
  for (let i = 1; i < logged.length; i++) {
    if (equal(logged[i - 1]!.sig, logged[i]!.sig))
      throw badRequest('envelope has duplicate signatures');
  }
  const entry = {
    apiVersion: '0.0.2',
    kind: 'dsse',
    spec: {
      dsseV002: {
        payloadHash: { algorithm: 'SHA2_256', digest: toBase64(sha256(payload)) },
        signatures: logged.map((l) => ({
          content: toBase64(l.sig),
          verifier: verifierJson(l.verifier),
        })),
      },
    },
  };
  return { body: utf8(canonicalize(entry)), kind: 'dsse', version: '0.0.2' };
}
