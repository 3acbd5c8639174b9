/**
 * POST /internal/forward: a frontend hands the sequencer a batch of entries it has admitted. The
 * cluster secret is checked before the body is read; the answer comes once every entry is durably
 * committed (see src/sequencer/forward.ts for the wire format and the retry contract).
 */
import type { Context } from 'hono';

import { toBase64, utf8 } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { LogError } from '../errors.ts';
import {
  decodeForwardRequest,
  encodeForwardAnswer,
  type ForwardAnswer,
  type ForwardAsk,
  FRONTEND_HEADER,
  MAX_FORWARD,
  PROOFS_HEADER,
  PUBLISHED_HEADER,
} from '../sequencer/index.ts';
import { MAX_ENTRY_SIZE } from '../tiles/index.ts';
import { readBody } from './body.ts';
import { RETRY_AFTER_SECONDS } from './errors.ts';

/** ForwardTarget sequences forwarded entries: the local sequencer, while it holds the lease. */
export interface ForwardTarget {
  /** sequencing is true while this instance holds the lease and its integrator runs. */
  readonly sequencing: boolean;
  /**
   * sequenceForwarded resolves with each entry's place once all are durably committed, and the
   * newest durable publication to send with the answer; with ask.proofs, each place carries its
   * inclusion proof in that publication when it covers the whole batch (forward.ts). It rejects
   * with a LogError ('unavailable' when this instance is not the sequencer).
   */
  sequenceForwarded(entries: readonly Uint8Array[], ask: ForwardAsk): Promise<ForwardAnswer>;
}

// CBOR overhead per entry is at most 5 bytes of head, plus the array head.
const MAX_BODY = MAX_FORWARD * (MAX_ENTRY_SIZE + 5) + 9;

/** secretMatches compares a bearer token with the secret in time independent of where they differ. */
export function secretMatches(header: string | undefined, secret: string): boolean {
  if (secret === '' || header === undefined || !header.startsWith('Bearer ')) return false;
  // Comparing digests: equal-length inputs, and the loop below does not stop early.
  const a = sha256(utf8(header.slice('Bearer '.length)));
  const b = sha256(utf8(secret));
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** postForward authenticates a forwarded batch, sequences it, and answers with its places. */
export async function postForward(
  c: Context,
  target: ForwardTarget,
  secret: string,
): Promise<Response> {
  if (!secretMatches(c.req.header('authorization'), secret))
    return c.text('forward: missing or wrong cluster secret\n', 401);
  // Not (or not yet) the sequencer: an expected moment around a takeover, so no error log; the
  // frontend sends the batch again to whoever then holds the lease.
  if (!target.sequencing)
    return c.text('forward: this instance is not the sequencer\n', 503, {
      'Retry-After': String(RETRY_AFTER_SECONDS),
    });
  const entries = decodeForwardRequest(await readBody(c, MAX_BODY));
  for (const e of entries) {
    if (e.length === 0 || e.length > MAX_ENTRY_SIZE)
      throw new LogError('bad_request', 'forward: an entry is empty or too large');
  }
  const ask = {
    proofs: c.req.header(PROOFS_HEADER) === '1',
    from: c.req.header(FRONTEND_HEADER)?.slice(0, 64),
  };
  const { placed, note } = await target.sequenceForwarded(entries, ask);
  return c.body(new Uint8Array(encodeForwardAnswer(placed)), 200, {
    'Content-Type': 'application/cbor',
    ...(note !== null ? { [PUBLISHED_HEADER]: toBase64(utf8(note)) } : {}),
  });
}
