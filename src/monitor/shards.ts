/**
 * Shard discovery from sigstore trust material (protobuf-specs SigningConfig v0.2 and
 * TrustedRoot, as distributed by TUF): the Rekor v2 logs a monitor follows are the SigningConfig's
 * `rekorTlogUrls` with `majorApiVersion` 2 whose `validFor` has started; a log whose window has
 * ended is still read to its last checkpoint (the runner finishes it), and a log that appears
 * later is followed from its first entry. Checkpoints are checked with the TrustedRoot's Ed25519
 * keys for that base URL (every Rekor v2 key of the root when none names the URL: the key's
 * name, the log's origin, then picks the log). Documents are read from a file or an HTTP(S) URL.
 */
import { readFile } from 'node:fs/promises';

import { LogError } from '../errors.ts';
import type { NoteVerifier } from '../note/index.ts';
import { trustedLogs } from '../verify/index.ts';

/** Shard is one Rekor v2 log to follow. */
export interface Shard {
  /** url is the log's base URL from the SigningConfig. */
  readonly url: string;
  readonly verifiers: readonly NoteVerifier[];
  readonly start: Date;
  readonly end?: Date;
}

// Untrusted JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

const bad = (why: string) => new LogError('bad_request', why);

/** readDocument reads a JSON document from a file path or an http(s) URL. */
export async function readDocument(
  where: string,
  fetchFn: typeof globalThis.fetch = globalThis.fetch,
): Promise<unknown> {
  let text: string;
  if (/^https?:\/\//.test(where)) {
    let res: Response;
    try {
      res = await fetchFn(where, { signal: AbortSignal.timeout(30_000) });
    } catch (cause) {
      throw new LogError('unavailable', `monitor: GET ${where} failed`, { cause });
    }
    if (!res.ok) throw new LogError('unavailable', `monitor: GET ${where}: ${res.status}`);
    text = await res.text();
  } else {
    try {
      text = await readFile(where, 'utf8');
    } catch (e) {
      throw new LogError('fatal', `monitor: ${where}: ${e instanceof Error ? e.message : e}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    throw bad(`monitor: ${where} is not JSON`);
  }
}

const origin = (url: string) => url.replace(/^https?:\/\//, '').replace(/\/+$/, '');

function time(v: unknown, what: string): Date {
  const d = typeof v === 'string' ? new Date(v) : null;
  if (!d || Number.isNaN(d.getTime()) || !/^\d{4}-\d\d-\d\dT/.test(v as string))
    throw bad(`${what} is not an RFC 3339 time`);
  return d;
}

/**
 * discoverShards lists the Rekor v2 shards of a SigningConfig whose validity has started by now,
 * each with the TrustedRoot keys that check its checkpoints. A shard with no usable key is an
 * error: following a log without checking its checkpoints would prove nothing.
 */
export function discoverShards(signingConfig: unknown, trustedRoot: unknown, now: Date): Shard[] {
  const services = (signingConfig as J | null)?.rekorTlogUrls;
  if (!Array.isArray(services)) throw bad('signing config: rekorTlogUrls is missing');
  const { logs, problems } = trustedLogs(trustedRoot);
  if (logs.length === 0)
    throw bad(`trusted root: no usable Rekor v2 (Ed25519) log: ${problems.join('; ')}`);
  const shards: Shard[] = [];
  services.forEach((s: J, i) => {
    const at = `signing config rekorTlogUrls[${i}]`;
    if (s?.majorApiVersion !== 2) return;
    if (typeof s.url !== 'string' || !/^https?:\/\/[^/]/.test(s.url))
      throw bad(`${at}.url is not a URL`);
    const start = time(s.validFor?.start, `${at}.validFor.start`);
    const end =
      s.validFor?.end === undefined ? undefined : time(s.validFor.end, `${at}.validFor.end`);
    if (start > now) return;
    const named = logs.filter((l) => l.origin === origin(s.url));
    shards.push({
      url: s.url.replace(/\/+$/, ''),
      verifiers: (named.length ? named : logs).map((l) => l.verifier),
      start,
      ...(end ? { end } : {}),
    });
  });
  return shards;
}
