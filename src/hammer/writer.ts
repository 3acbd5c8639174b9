/**
 * What the hammer writes: raw entries to a generic log's `POST add`, or signed hashedrekord
 * 0.0.2 requests to a Rekor v2 log's `POST log/entries` (rekor-v2-spec; CreateEntryRequest in
 * protojson). Each write yields the acknowledged index and the leaf it must find there later.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

import { fromBase64 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { type Hash, leafHash } from '../merkle/index.ts';

/** Ack is what a log acknowledged: the entry's leaf hash at an index, with the answer's proof. */
export interface Ack {
  readonly index: number;
  readonly leaf: Hash;
  /** checkpoint is the signed note the answer carried; hashes its inclusion proof. */
  readonly checkpoint: string;
  readonly hashes: readonly Hash[];
}

/** Write is one request to send and how to read its answer. */
export interface Write {
  readonly path: string;
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly okStatus: number;
  parse(answer: unknown): Ack;
}

const bad = (what: string): never => {
  throw new LogError('corrupt', `hammer: the log's answer ${what}`);
};

function index(v: unknown): number {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]*)$/.test(v)) return bad('has no decimal index');
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : bad('has an index beyond 2^53');
}

function hashes(v: unknown): Hash[] {
  if (!Array.isArray(v)) return bad('has no proof hashes');
  return v.map((h) => {
    const b = typeof h === 'string' ? fromBase64(h) : null;
    return b && b.length === 32 ? (b as Hash) : bad('has a proof hash that is not 32 bytes');
  });
}

type Json = Record<string, unknown>;
const obj = (v: unknown, what: string): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : bad(`has no ${what}`);

/** rawWriter makes unique random entries of 64 to 1,024 bytes for `POST add`. */
export function rawWriter(): () => Write {
  let n = 0;
  const run = randomBytes(8).toString('hex');
  return () => {
    const body = new Uint8Array(randomBytes(64 + Math.floor(Math.random() * 961)));
    body.set(new TextEncoder().encode(`hammer ${run} ${n++} `));
    return {
      path: 'add',
      body,
      contentType: 'application/octet-stream',
      okStatus: 200,
      parse(answer) {
        const a = obj(answer, 'JSON object');
        if (typeof a.checkpoint !== 'string') bad('has no checkpoint');
        return {
          index: index(a.index),
          leaf: leafHash(body),
          checkpoint: a.checkpoint as string,
          hashes: hashes(a.hashes),
        };
      },
    };
  };
}

/** rekorWriter signs random artifacts with one ECDSA P-256 key, as a sigstore client would. */
export function rekorWriter(): () => Write {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  return () => {
    const artifact = randomBytes(64);
    const request = {
      hashedRekordRequestV002: {
        digest: createHash('sha256').update(artifact).digest('base64'),
        signature: {
          content: sign('sha256', artifact, privateKey).toString('base64'),
          verifier: { publicKey: { rawBytes: spki }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
        },
      },
    };
    return {
      path: 'log/entries',
      body: new TextEncoder().encode(JSON.stringify(request)),
      contentType: 'application/json',
      okStatus: 201,
      parse(answer) {
        // TransparencyLogEntry: logIndex, canonicalizedBody and inclusionProof (rekor-v2-wire.md).
        const e = obj(answer, 'TransparencyLogEntry');
        const proof = obj(e.inclusionProof, 'inclusionProof');
        const body =
          typeof e.canonicalizedBody === 'string' ? fromBase64(e.canonicalizedBody) : null;
        if (!body) bad('has no canonicalizedBody');
        const envelope = obj(proof.checkpoint, 'inclusionProof.checkpoint').envelope;
        if (typeof envelope !== 'string') bad('has no checkpoint envelope');
        return {
          index: index(e.logIndex),
          leaf: leafHash(body!),
          checkpoint: envelope as string,
          hashes: hashes(proof.hashes),
        };
      },
    };
  };
}
