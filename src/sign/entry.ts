/**
 * The hashedrekord 0.0.2 entry a signer asks for, and the check of the log's answer (Rekor v2
 * spec §6.1.4, client spec §2.1.7): the checkpoint is signed by the log's key, the inclusion
 * proof leads from the entry we asked for to that checkpoint's root, and the logged body is
 * byte for byte the entry we asked for. No Node imports: this runs in browsers.
 */
import { equal, fromBase64Lenient, toBase64, utf8 } from '../bytes.ts';
import type { HashAlgorithm, KeyDetails } from '../entries/index.ts';
import { LogError } from '../errors.ts';
import { checkInclusion, leafHash } from '../merkle/index.ts';
import { type Checkpoint, type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';

/** Signature is what a signer produced: its key, the algorithm, the digest and the signature. */
export interface Signature {
  readonly keyDetails: KeyDetails;
  readonly hashAlgorithm: HashAlgorithm;
  /** publicKey is the DER SubjectPublicKeyInfo of the signing key. */
  readonly publicKey: Uint8Array;
  readonly digest: Uint8Array;
  readonly signature: Uint8Array;
}

/** createEntryRequest is the CreateEntryRequest (protojson) for a hashedrekord 0.0.2 entry. */
export function createEntryRequest(s: Signature) {
  return {
    hashedRekordRequestV002: {
      digest: toBase64(s.digest),
      signature: {
        content: toBase64(s.signature),
        verifier: { publicKey: { rawBytes: toBase64(s.publicKey) }, keyDetails: s.keyDetails },
      },
    },
  };
}

/**
 * expectedBody is the canonicalizedBody a Rekor v2 log must log for s: the protojson Entry in
 * RFC 8785 form. Every value is base64 or an enum name, which JSON.stringify writes exactly as
 * RFC 8785 §3.2.2.2 does, so writing the keys in sorted order is the whole canonicalization.
 */
export function expectedBody(s: Signature): Uint8Array {
  const entry = {
    apiVersion: '0.0.2',
    kind: 'hashedrekord',
    spec: {
      hashedRekordV002: {
        data: { algorithm: s.hashAlgorithm, digest: toBase64(s.digest) },
        signature: {
          content: toBase64(s.signature),
          verifier: { keyDetails: s.keyDetails, publicKey: { rawBytes: toBase64(s.publicKey) } },
        },
      },
    },
  };
  return utf8(JSON.stringify(entry));
}

/** LogKey is a key the signer trusts for one log: its note verifier and its 32-byte log ID. */
export interface LogKey {
  readonly verifier: NoteVerifier;
  readonly logId: Uint8Array;
}

/** VerifiedEntry is a TransparencyLogEntry whose every field the signer has checked. */
export interface VerifiedEntry {
  readonly logIndex: number;
  readonly logId: Uint8Array;
  readonly checkpoint: Checkpoint;
  readonly envelope: string;
  readonly hashes: readonly Uint8Array[];
  readonly body: Uint8Array;
}

/** bad is the 'corrupt' LogError for an answer of the log that does not verify. */
export function bad(msg: string): LogError {
  return new LogError('corrupt', `the log's answer does not verify: ${msg}`);
}

// The answer is untrusted JSON: every field is read through these before use.
type J = Record<string, unknown>;

function obj(v: unknown, what: string): J {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} is missing`);
  return v as J;
}

function bytes(v: unknown, what: string, size?: number): Uint8Array {
  const out = typeof v === 'string' ? fromBase64Lenient(v) : null;
  if (!out) throw bad(`${what} is not base64`);
  if (size !== undefined && out.length !== size) throw bad(`${what} is not ${size} bytes`);
  return out;
}

// protojson writes int64 as a decimal string; anything but the canonical form is refused.
function int64(v: unknown, what: string): number {
  const n = typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw bad(`${what} is not a decimal int64 string`);
  return n;
}

/**
 * checkLogEntry verifies a TransparencyLogEntry answered for the entry `body`, against the
 * trusted keys of the log; it throws a 'corrupt' LogError naming the first check that fails.
 */
export function checkLogEntry(
  answer: unknown,
  body: Uint8Array,
  keys: readonly LogKey[],
): VerifiedEntry {
  const e = obj(answer, 'the entry');
  const kv = obj(e.kindVersion, 'kindVersion');
  if (kv.kind !== 'hashedrekord' || kv.version !== '0.0.2')
    throw bad(`kindVersion is ${JSON.stringify(kv).slice(0, 80)}, not hashedrekord 0.0.2`);
  // The body first: the log must have logged exactly what we asked for, not something like it.
  if (!equal(bytes(e.canonicalizedBody, 'canonicalizedBody'), body))
    throw bad('canonicalizedBody is not the entry that was submitted');
  const logId = bytes(obj(e.logId, 'logId').keyId, 'logId.keyId', 32);
  const key = keys.find((k) => equal(k.logId, logId));
  if (!key) throw bad(`logId ${toBase64(logId)} is not a trusted key of this log`);
  const proof = obj(e.inclusionProof, 'inclusionProof');
  const envelope = obj(proof.checkpoint, 'inclusionProof.checkpoint').envelope;
  if (typeof envelope !== 'string') throw bad('inclusionProof.checkpoint.envelope is missing');
  const cp = openCheckpoint(envelope, key.verifier);
  const logIndex = int64(e.logIndex, 'logIndex');
  // rootHash, treeSize and the proof's logIndex repeat what the checkpoint and logIndex say; a
  // bundle where they disagree would be refused by verifiers, so they must agree here too.
  if (int64(proof.logIndex, 'inclusionProof.logIndex') !== logIndex)
    throw bad('inclusionProof.logIndex is not logIndex');
  if (int64(proof.treeSize, 'inclusionProof.treeSize') !== cp.size)
    throw bad("inclusionProof.treeSize is not the checkpoint's size");
  if (!equal(bytes(proof.rootHash, 'inclusionProof.rootHash', 32), cp.root))
    throw bad("inclusionProof.rootHash is not the checkpoint's root");
  if (!Array.isArray(proof.hashes)) throw bad('inclusionProof.hashes is missing');
  const hashes = proof.hashes.map((h, i) => bytes(h, `inclusionProof.hashes[${i}]`, 32));
  try {
    checkInclusion(logIndex, cp.size, leafHash(body), hashes, cp.root);
  } catch (err) {
    throw bad(`inclusion proof: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { logIndex, logId, checkpoint: cp, envelope, hashes, body };
}

/**
 * openCheckpoint verifies the log's signature on a checkpoint note and that its origin is the
 * key's name (Rekor v2 names both after the log's host, and verifiers match them).
 */
export function openCheckpoint(envelope: string, verifier: NoteVerifier): Checkpoint {
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(openNote(envelope, [verifier]).text);
  } catch (err) {
    throw bad(`checkpoint: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (cp.origin !== verifier.name)
    throw bad(`checkpoint origin ${cp.origin} is not the log key's name ${verifier.name}`);
  return cp;
}

/** BUNDLE_MEDIA_TYPE is the media type of a Sigstore bundle v0.3. */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** tlogEntryJson formats a verified entry as a bundle's TransparencyLogEntry (protojson). */
export function tlogEntryJson(v: VerifiedEntry) {
  return {
    logIndex: String(v.logIndex),
    logId: { keyId: toBase64(v.logId) },
    kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
    // Rekor v2 has no integrated time (and no inclusion promise): always 0.
    integratedTime: '0',
    inclusionProof: {
      logIndex: String(v.logIndex),
      rootHash: toBase64(v.checkpoint.root),
      treeSize: String(v.checkpoint.size),
      hashes: v.hashes.map(toBase64),
      checkpoint: { envelope: v.envelope },
    },
    canonicalizedBody: toBase64(v.body),
  };
}

/**
 * bundleJson is the Sigstore bundle v0.3 for a signature and its verified log entry, with the
 * key given as a public-key hint (the verifier supplies the key out of band).
 */
export function bundleJson(s: Signature, v: VerifiedEntry, hint: string) {
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint }, tlogEntries: [tlogEntryJson(v)] },
    messageSignature: {
      messageDigest: { algorithm: s.hashAlgorithm, digest: toBase64(s.digest) },
      signature: toBase64(s.signature),
    },
  };
}
