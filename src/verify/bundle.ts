/**
 * Log-level verification of a Sigstore bundle's transparency-log entries (client spec §4.4,
 * Rekor v2 §6.1.4): the checkpoint is signed by a trusted log key named after its origin (chosen
 * among a rotated log's keys by the entry's logId and the checkpoint's key ID), the inclusion
 * proof leads from the canonicalized body to that checkpoint's root, and the body is a known kind
 * that agrees with the bundle's signature, digest (or artifact) and key. A refusal names every
 * reason found, on one line. Certificate chains and timestamps are out of scope. No Node imports.
 */
import { equal } from '../bytes.ts';
import { parseJsonExact } from '../json.ts';
import { checkInclusion, leafHash } from '../merkle/index.ts';
import { openNote, parseCheckpoint } from '../note/index.ts';
import { b64, Checker, need, Reject, verifyBody } from './body.ts';
import { type TrustedLog, trustedLogs } from './trusted.ts';

/** BundleVerification is the outcome: valid or not, the reason, and what was checked. */
export interface BundleVerification {
  readonly valid: boolean;
  readonly reason?: string;
  readonly checks: readonly string[];
}

/** NOT_CHECKED says what this verifier leaves to others. */
export const NOT_CHECKED =
  'not checked: certificate chains, certificate validity periods, timestamps, and the artifact signature itself';

// Untrusted JSON: every field is read through need()/b64() or a typed check before use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

/** VerifyOptions: the artifact, if the caller has it, and the current time (for validFor). */
export interface VerifyOptions {
  readonly artifact?: Uint8Array;
  readonly now?: Date;
}

// One line: messages quote untrusted strings with JSON.stringify, but be sure.
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

/** verifyBundle runs the log-level checks on every tlog entry of a bundle. */
export function verifyBundle(
  bundle: unknown,
  trustedRoot: unknown,
  options: Uint8Array | VerifyOptions = {},
): BundleVerification {
  const opts = options instanceof Uint8Array ? { artifact: options } : options;
  const checks: string[] = [];
  const problems: string[] = [];
  try {
    const b = need(bundle as J, 'bundle');
    const entries = need(
      b.verificationMaterial?.tlogEntries,
      'verificationMaterial.tlogEntries',
    ) as J[];
    if (!Array.isArray(entries) || entries.length === 0)
      throw new Reject('bundle has no tlog entries');
    const trusted = trustedLogs(trustedRoot);
    if (trusted.logs.length === 0) {
      throw new Reject(
        ['trusted root has no usable Ed25519 transparency log', ...trusted.problems].join('; '),
      );
    }
    const now = opts.now ?? new Date();
    entries.forEach((e, i) => {
      const c = new Checker(checks, `tlogEntries[${i}]`);
      c.run(() => verifyEntry(b, e, trusted.logs, opts.artifact, now, c));
      problems.push(...c.problems);
    });
  } catch (err) {
    if (err instanceof Reject) problems.push(err.message);
    else problems.push(`malformed input: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (problems.length === 0) return { valid: true, checks };
  return { valid: false, reason: oneLine(problems.join('; ')), checks };
}

/** pickLog finds the trusted key that signed the checkpoint, trying each candidate key. */
function pickLog(e: J, envelope: string, logs: readonly TrustedLog[]) {
  const origin = envelope.slice(0, Math.max(0, envelope.indexOf('\n')));
  let candidates = logs.filter((l) => l.origin === origin);
  if (candidates.length === 0)
    throw new Reject(`no trusted log has origin ${JSON.stringify(origin.slice(0, 100))}`);
  if (e.logId?.keyId !== undefined) {
    const id = b64(e.logId.keyId, 'logId.keyId');
    candidates = candidates.filter((l) => l.ids.some((x) => equal(x, id)));
    if (candidates.length === 0)
      throw new Reject(`logId does not match any trusted key of ${JSON.stringify(origin)}`);
  }
  const failures: string[] = [];
  for (const log of candidates) {
    try {
      return { log, cp: parseCheckpoint(openNote(envelope, [log.verifier]).text) };
    } catch (err) {
      failures.push(`${log.label}: ${err instanceof Error ? err.message : err}`);
    }
  }
  throw new Reject(`checkpoint does not verify with any trusted key (${failures.join(', ')})`);
}

function verifyEntry(
  b: J,
  e: J,
  logs: readonly TrustedLog[],
  artifact: Uint8Array | undefined,
  now: Date,
  c: Checker,
): string {
  const proof = need(e.inclusionProof, 'inclusionProof');
  const envelope = need(proof.checkpoint?.envelope, 'inclusionProof.checkpoint.envelope');
  if (typeof envelope !== 'string') throw new Reject('checkpoint envelope is not a string');
  // 1. The checkpoint: signed by a trusted key whose name is the checkpoint's origin.
  const { log, cp } = pickLog(e, envelope, logs);
  const window = `valid from ${log.start.toISOString()}${log.end ? ` to ${log.end.toISOString()}` : ''}`;
  if (log.start > now) throw new Reject(`trusted key ${log.label} is not valid yet (${window})`);
  c.checks.push(
    `${c.at}: checkpoint ${cp.origin} size ${cp.size} signed by trusted key ${log.label} (${window})`,
  );
  // 2. Inclusion of SHA-256(0x00 ‖ canonicalizedBody) under the checkpoint's own size and root.
  const body = b64(need(e.canonicalizedBody, 'canonicalizedBody'), 'canonicalizedBody');
  c.run(() => {
    const raw = proof.logIndex ?? e.logIndex;
    const index = Number(need(raw, 'inclusionProof.logIndex'));
    if (!Number.isSafeInteger(index) || String(index) !== String(raw))
      throw new Reject('bad logIndex');
    const hashes = (need(proof.hashes, 'inclusionProof.hashes') as unknown[]).map((h, k) =>
      b64(h, `inclusionProof.hashes[${k}]`),
    );
    try {
      checkInclusion(index, cp.size, leafHash(body), hashes, cp.root);
    } catch (err) {
      throw new Reject(`inclusion proof fails: ${err instanceof Error ? err.message : err}`);
    }
    return `entry ${index} is included in checkpoint size ${cp.size}`;
  });
  // 3. The body: a known kind and version that agrees with the rest of the bundle.
  let parsed: J;
  try {
    parsed = parseJsonExact(new TextDecoder('utf-8', { fatal: true }).decode(body)) as J;
  } catch {
    throw new Reject('canonicalizedBody is not JSON');
  }
  const kind = `${parsed.kind} ${parsed.apiVersion}`;
  if (e.kindVersion && `${e.kindVersion.kind} ${e.kindVersion.version}` !== kind) {
    c.problems.push(
      `${c.at}: kindVersion ${e.kindVersion.kind} ${e.kindVersion.version} does not match the body's ${kind}`,
    );
  }
  verifyBody(b, parsed, artifact, c);
  return '';
}
