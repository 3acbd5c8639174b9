/**
 * The signing flow of the Sigstore client spec §2.1 with a long-lived key instead of Fulcio and
 * no timestamp authority (§2.2 "Other workflows"): sign the artifact's digest (§2.1.4), submit a
 * hashedrekord 0.0.2 entry to the Rekor v2 log (§2.1.6, §2.1.7), verify the log's answer, and
 * return the bundle to distribute (§2.1.9). No Node imports: keys are behind ArtifactSigner.
 */
import { toBase64 } from '../bytes.ts';
import { TlogClient } from '../client/index.ts';
import { sha256 } from '../crypto.ts';
import type { HashAlgorithm, KeyDetails } from '../entries/index.ts';
import { LogError, type LogErrorCode } from '../errors.ts';
import { checkInclusion, leafHash } from '../merkle/index.ts';
import {
  bad,
  bundleJson,
  checkLogEntry,
  createEntryRequest,
  expectedBody,
  type LogKey,
  openCheckpoint,
  type Signature,
  type VerifiedEntry,
} from './entry.ts';
import { trimUrl } from './trust.ts';

/** ArtifactSigner is a signing key: its algorithm, its public key, and signing of a digest. */
export interface ArtifactSigner {
  readonly keyDetails: KeyDetails;
  /** hashAlgorithm is the pre-hash keyDetails names (algorithm registry). */
  readonly hashAlgorithm: HashAlgorithm;
  /** publicKey is the DER SubjectPublicKeyInfo. */
  readonly publicKey: Uint8Array;
  /** signDigest signs a digest computed with hashAlgorithm, as keyDetails prescribes. */
  signDigest(digest: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** SignOptions says what to sign, with which key, in which log, trusting which log keys. */
export interface SignOptions {
  /** url is the log's base URL as a SigningConfig lists it; /api/v2/log/entries is appended. */
  readonly url: string;
  readonly signer: ArtifactSigner;
  /** digest is the artifact's hash with signer.hashAlgorithm. */
  readonly digest: Uint8Array;
  /** logKeys are the log keys to trust (logKeyFromVkey, logKeysFromTrustedRoot). */
  readonly logKeys: readonly LogKey[];
  /**
   * readUrl is the log's tlog-tiles prefix (default url + /api/v2, where tilelog serves it), read
   * when the entry is already in the log (409) to prove its inclusion from tiles.
   */
  readonly readUrl?: string;
  readonly fetch?: typeof globalThis.fetch;
  /**
   * timeoutMs bounds the wait for the log's answer (default 120 s; Rekor v2 answers once a
   * checkpoint holds the entry, which the spec allows to take 10 s or more).
   */
  readonly timeoutMs?: number;
}

/** Signed is the outcome: the Sigstore bundle, and the entry as verified. */
export interface Signed {
  readonly bundle: ReturnType<typeof bundleJson>;
  readonly entry: VerifiedEntry;
}

/** ENTRIES_PATH is the Rekor v2 write path under a log's base URL. */
export const ENTRIES_PATH = '/api/v2/log/entries';

const DIGEST_SIZE: Record<HashAlgorithm, number> = { SHA2_256: 32, SHA2_384: 48, SHA2_512: 64 };

/** keyHint names a public key in a bundle: base64 of SHA-256 of its DER SubjectPublicKeyInfo. */
export function keyHint(spki: Uint8Array): string {
  return toBase64(sha256(spki));
}

/**
 * signAndLog signs the digest, logs the signature and returns the bundle. It throws a LogError:
 * the log's own one-line reason when it refuses the entry (bad_request for its 400), or
 * 'corrupt' when its answer does not verify; nothing is returned unless everything verified.
 */
export async function signAndLog(opts: SignOptions): Promise<Signed> {
  const { signer, digest } = opts;
  if (digest.length !== DIGEST_SIZE[signer.hashAlgorithm])
    throw new LogError('bad_request', `digest is not a ${signer.hashAlgorithm} digest`);
  if (opts.logKeys.length === 0) throw new LogError('bad_request', 'no log key to trust');
  const s: Signature = {
    keyDetails: signer.keyDetails,
    hashAlgorithm: signer.hashAlgorithm,
    publicKey: signer.publicKey,
    digest,
    signature: await signer.signDigest(digest),
  };
  const body = expectedBody(s);
  const url = `${trimUrl(opts.url)}${ENTRIES_PATH}`;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const res = await (opts.fetch ?? globalThis.fetch)(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(createEntryRequest(s)),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((err: unknown) => {
    const why =
      err instanceof Error && err.name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : String((err as Error)?.cause ?? err);
    throw new LogError('unavailable', `POST ${url}: ${why}`, { cause: err });
  });
  const index = res.status === 409 ? res.headers.get('x-log-index') : null;
  if (index !== null && /^(0|[1-9][0-9]*)$/.test(index)) {
    // Deterministic signatures (RSA PKCS#1 v1.5, Ed25519ph) over a digest signed before give
    // the same entry; it is in the log already, so prove that from the tiles instead.
    await res.body?.cancel();
    const entry = await proveLogged(opts, body, Number(index));
    return { bundle: bundleJson(s, entry, keyHint(signer.publicKey)), entry };
  }
  if (res.status !== 201) throw await refusal(res);
  let answer: unknown;
  try {
    answer = await res.json();
  } catch {
    throw bad('it is not JSON');
  }
  const entry = checkLogEntry(answer, body, opts.logKeys);
  return { bundle: bundleJson(s, entry, keyHint(signer.publicKey)), entry };
}

/**
 * proveLogged proves that body is the entry at index of the log's latest checkpoint, from tiles:
 * the checkpoint must be signed by a trusted key and the inclusion proof must lead from body.
 */
async function proveLogged(opts: SignOptions, body: Uint8Array, index: number) {
  const url = opts.readUrl ?? `${trimUrl(opts.url)}/api/v2`;
  const verifiers = opts.logKeys.map((k) => k.verifier);
  const client = new TlogClient({ url, verifiers, fetch: opts.fetch });
  let note: string;
  try {
    note = (await client.checkpoint()).note;
  } catch (err) {
    throw bad(`checkpoint at ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const opened = opts.logKeys.flatMap((key) => {
    try {
      return [{ key, cp: openCheckpoint(note, key.verifier) }];
    } catch {
      return []; // signed by another of the log's keys
    }
  });
  if (opened.length === 0) throw bad(`the checkpoint at ${url} is not signed by a trusted key`);
  const { key, cp } = opened[0]!;
  if (index >= cp.size)
    throw bad(`entry ${index} is not in the latest checkpoint (size ${cp.size}) yet`);
  const hashes = await client.proveInclusion(index, cp.size);
  try {
    checkInclusion(index, cp.size, leafHash(body), hashes, cp.root);
  } catch (err) {
    throw bad(
      `entry ${index} is not the submitted entry: ${err instanceof Error ? err.message : err}`,
    );
  }
  return { logIndex: index, logId: key.logId, checkpoint: cp, envelope: note, hashes, body };
}

// What each refusal means for the caller (rekor-tiles' statuses, CLIENTS.md).
const REFUSAL: Record<number, LogErrorCode> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'frozen',
  409: 'conflict',
  413: 'too_large',
  429: 'pushback',
  503: 'pushback',
};

/** refusal turns a non-201 answer into a LogError with the log's reason, on one line. */
async function refusal(res: Response): Promise<LogError> {
  const text = await res.text().catch(() => '');
  let reason = text;
  try {
    // rekor-tiles answers errors with a grpc-gateway status {"code","message","details"}.
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j?.message === 'string') reason = j.message;
  } catch {
    // plain text (tilelog's generic routes, proxies)
  }
  reason = reason.replace(/\s+/g, ' ').trim().slice(0, 300) || res.statusText;
  const index = res.status === 409 ? res.headers.get('x-log-index') : null;
  const where = index !== null ? ` (x-log-index ${index})` : '';
  const code = Object.hasOwn(REFUSAL, res.status) ? REFUSAL[res.status]! : 'unavailable';
  return new LogError(code, `the log refused the entry (${res.status}): ${reason}${where}`);
}
