/**
 * Forwarding admitted entries from a frontend to the instance that holds the sequencer lease, and
 * the wire format of `POST /internal/forward`. Owned by Forwarder: nothing but its counters; the
 * entries in flight belong to the caller (the pool), which keeps them until sequence() settles.
 *
 * Wire format (CBOR, RFC 8949, encoded by cbor-x and parsed strictly: the bytes must re-encode to
 * themselves). Request body: an array of 1..MAX_FORWARD byte strings, the entries, already
 * admitted by the frontend. Answer 200: an array with one [index, duplicate] pair per entry, in
 * order, sent only once every entry is durably committed (not yet published: the frontend reads
 * the published checkpoint from the shared store). The request carries the cluster secret as
 * `Authorization: Bearer <secret>`; without it the answer is 401 and nothing is appended. Any
 * other status means the outcome is unknown, and the frontend sends the batch again, to whichever
 * instance then holds the lease: sequencing is idempotent (identical bytes keep their index).
 * A 200 answer may carry the sequencer's newest publication (a checkpoint note, base64) in the
 * header PUBLISHED_HEADER: a frontend that verifies it answers its submitters at once instead of
 * waiting to read the published checkpoint from the store (one read and a poll tick less).
 *
 * Proofs. A request with `PROOFS_HEADER: 1` asks for inclusion proofs: when the publication the
 * answer carries covers every entry of the batch, each pair becomes [index, duplicate, proof],
 * the proof being the concatenated hashes of the entry's inclusion proof (RFC 9162 2.1.3.1) in
 * that checkpoint. The sequencer computes them from the tiles it just wrote, still in its cache;
 * a frontend would read those tiles back from the bucket and hash them again, per publication.
 * Answers to requests without the header keep the pairs (an older frontend's format).
 */
import { Encoder } from 'cbor-x';

import { concat, decodeUtf8, equal, fromBase64, toHex } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { type Hash, HASH_SIZE, leafHash } from '../merkle/index.ts';
import { checkEntry } from '../tiles/index.ts';
import type { Clock } from './clock.ts';
import { InclusionChecker } from './inclusion.ts';
import { postBytes } from './post.ts';
import type { Pending } from './sequence.ts';

/** FORWARD_PATH is the internal endpoint, on the same listener as the public API. */
export const FORWARD_PATH = '/internal/forward';

/** PUBLISHED_HEADER carries the sequencer's newest publication with a forward answer. */
export const PUBLISHED_HEADER = 'Tilelog-Published';

/** PROOFS_HEADER, set to 1 on a request, asks for inclusion proofs in the answer. */
export const PROOFS_HEADER = 'Tilelog-Proofs';

/**
 * FRONTEND_HEADER names the forwarding instance (an opaque id, random per process): the
 * sequencer waits for the batches of the frontends that feed it before it commits
 * (IntegratorOptions.gatherMs). Only a hint for batching; nothing depends on it for safety.
 */
export const FRONTEND_HEADER = 'Tilelog-Frontend';

/** MAX_FORWARD is the most entries one forwarded batch may carry. */
export const MAX_FORWARD = 4096;

// The longest inclusion proof: one hash per level of a tree of up to 2^63 entries.
const MAX_PROOF = 63;

/** ForwardedEntry is where the sequencer put a forwarded entry. */
export interface ForwardedEntry {
  readonly index: number;
  readonly duplicate: boolean;
  /** hashes, when proofs were asked for, prove index in the checkpoint the answer carries. */
  readonly hashes?: readonly Hash[];
}

/** ForwardAsk is what a forward request asks for besides sequencing, and who sends it. */
export interface ForwardAsk {
  /** proofs: PROOFS_HEADER was 1. */
  readonly proofs: boolean;
  /** from is the FRONTEND_HEADER, a batching hint only (Feeders). */
  readonly from?: string;
}

/** ForwardAnswer is a batch's places and the publication the answer carried (null: none). */
export interface ForwardAnswer {
  readonly placed: ForwardedEntry[];
  readonly note: string | null;
}

const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false });

function decodeCanonical(b: Uint8Array, what: string): unknown {
  let v: unknown;
  try {
    v = cbor.decode(b);
  } catch {
    throw new LogError('bad_request', `forward: ${what} is not CBOR`);
  }
  // cbor-x ignores trailing bytes and accepts non-minimal heads: re-encoding catches both.
  if (!equal(cbor.encode(v), b))
    throw new LogError('bad_request', `forward: ${what} is not canonical CBOR`);
  return v;
}

/** encodeForwardRequest encodes a batch of entries. */
export function encodeForwardRequest(entries: readonly Uint8Array[]): Uint8Array {
  return cbor.encode(entries);
}

/** decodeForwardRequest parses a forwarded batch, or throws a bad_request LogError. */
export function decodeForwardRequest(b: Uint8Array): Uint8Array[] {
  const v = decodeCanonical(b, 'request');
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_FORWARD)
    throw new LogError(
      'bad_request',
      `forward: request is not an array of 1..${MAX_FORWARD} entries`,
    );
  return v.map((e: unknown) => {
    if (!(e instanceof Uint8Array))
      throw new LogError('bad_request', 'forward: an entry is not bytes');
    return new Uint8Array(e);
  });
}

/** encodeForwardAnswer encodes where each entry of a batch was put, with its proof if it has one. */
export function encodeForwardAnswer(placed: readonly ForwardedEntry[]): Uint8Array {
  return cbor.encode(
    placed.map((p) =>
      p.hashes ? [p.index, p.duplicate, concat(...p.hashes)] : [p.index, p.duplicate],
    ),
  );
}

/** decodeForwardAnswer parses an answer for a batch of n entries, or throws 'unavailable'. */
export function decodeForwardAnswer(b: Uint8Array, n: number): ForwardedEntry[] {
  // A bad answer is the sequencer's fault (or a version skew), never the client's: retry later.
  const bad = () => new LogError('unavailable', 'forward: the sequencer sent a malformed answer');
  let v: unknown;
  try {
    v = decodeCanonical(b, 'answer');
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== n) throw bad();
  return v.map((p: unknown) => {
    if (!Array.isArray(p) || (p.length !== 2 && p.length !== 3)) throw bad();
    const [index, duplicate, proof] = p as unknown[];
    if (!Number.isSafeInteger(index) || (index as number) < 0 || typeof duplicate !== 'boolean')
      throw bad();
    if (p.length === 2) return { index: index as number, duplicate };
    if (!(proof instanceof Uint8Array) || proof.length % HASH_SIZE !== 0) throw bad();
    if (proof.length > MAX_PROOF * HASH_SIZE) throw bad();
    const hashes: Hash[] = [];
    for (let i = 0; i < proof.length; i += HASH_SIZE)
      hashes.push(new Uint8Array(proof.subarray(i, i + HASH_SIZE)) as Hash); // cbor-x: a Buffer
    return { index: index as number, duplicate, hashes };
  });
}

/** pendingOf checks forwarded entries and hashes them for the integrator. */
export function pendingOf(entries: readonly Uint8Array[]): Pending[] {
  return entries.map((entry) => {
    checkEntry(entry);
    const hash = leafHash(entry);
    return { entry, hash, hashHex: toHex(hash) };
  });
}

/** ProofReader computes proofs (a sequencer's) and keeps checked ones (a frontend's): TileReader. */
interface ProofReader {
  proveInclusion(index: number, size: number): Promise<Hash[]>;
  keepProof(index: number, size: number, hashes: readonly Hash[]): void;
}

/**
 * withProofs adds each place's inclusion proof in the tree of size, when size covers them all
 * (else returns them as they are). A sequencer proves from the tiles it just committed, which
 * its reader still caches: no I/O.
 */
export async function withProofs(
  placed: ForwardedEntry[],
  size: number,
  reader: ProofReader,
): Promise<ForwardedEntry[]> {
  if (placed.some((p) => p.index >= size)) return placed;
  const hashes = await Promise.all(placed.map((p) => reader.proveInclusion(p.index, size)));
  return placed.map((p, i) => ({ ...p, hashes: hashes[i]! }));
}

/**
 * keepProofs checks the proofs of a forward answer against the checkpoint it carried (already
 * verified and adopted) and hands them to reader for the submitters' answers. It returns false,
 * keeping none, when an entry has no proof or one does not check (reported to warn): the frontend
 * then proves from tiles, as without proofs.
 */
export function keepProofs(
  batch: readonly Pending[],
  placed: readonly ForwardedEntry[],
  cp: { readonly size: number; readonly root: Hash },
  reader: ProofReader,
  warn?: (what: string, err: unknown) => void,
): boolean {
  if (placed.some((p) => !p.hashes)) return false;
  const checker = new InclusionChecker(cp.size, cp.root);
  const bad = placed.findIndex((p, i) => !checker.check(p.index, batch[i]!.hash, p.hashes!));
  if (bad >= 0) {
    const p = placed[bad]!;
    warn?.('a forward answer carried a bad inclusion proof', `index ${p.index}, size ${cp.size}`);
    return false;
  }
  for (const p of placed) reader.keepProof(p.index, cp.size, p.hashes!);
  return true;
}

// How long a frontend that stopped forwarding still counts as feeding the sequencer.
const FEEDER_MS = 1000;

/**
 * Feeders are the frontends that forward to this sequencer, by the FRONTEND_HEADER they send, and
 * when each last did: a partial batch waits (IntegratorOptions.gatherMs) while one that fed it in
 * the last second has not forwarded since the previous batch started.
 */
export class Feeders {
  private readonly waitMs: number;
  private readonly clock: Clock;
  private readonly last = new Map<string, number>();

  constructor(waitMs: number, clock: Clock) {
    this.waitMs = waitMs;
    this.clock = clock;
  }

  /** fed records a forward from id, forgetting the frontends that stopped (a bounded map). */
  fed(id: string): void {
    const now = this.clock.monotonic();
    this.last.set(id, now);
    if (this.last.size > 64)
      for (const [k, at] of this.last) if (now - at >= FEEDER_MS) this.last.delete(k);
  }

  /**
   * gatherMs is waitMs while a recent feeder has not forwarded since since (the clock's
   * monotonic time, as the integrator passes it), else 0.
   */
  gatherMs(since: number): number {
    const now = this.clock.monotonic();
    for (const at of this.last.values()) if (at < since && now - at < FEEDER_MS) return this.waitMs;
    return 0;
  }
}

/** ForwarderOptions configures a forwarder. */
export interface ForwarderOptions {
  /** sequencerUrl is the current lease holder's advertised base URL, or null when none is known. */
  readonly sequencerUrl: () => string | null;
  readonly secret: string;
  /**
   * attemptMs bounds one request to a holder that keeps its lease but never answers. A dead,
   * paused or partitioned holder is abandoned sooner, as soon as the lease moves (watched every
   * 50 ms); a short bound would only cut off batches waiting on a slow but healthy commit.
   */
  readonly attemptMs: number;
  /** deadlineMs is how long sequence() keeps trying before it rejects with 'unavailable'. */
  readonly deadlineMs: number;
  /** retryMs is the pause between attempts (default 50). */
  readonly retryMs?: number;
  readonly events?: ForwarderEvents;
  /** proofs asks the sequencer for each entry's inclusion proof (PROOFS_HEADER). */
  readonly proofs?: boolean;
  /** id, when given, is sent as FRONTEND_HEADER. */
  readonly id?: string;
}

/** ForwarderEvents observe forwarding (metrics, logs); they must not throw. */
export interface ForwarderEvents {
  forwarded?(info: { entries: number; ms: number; attempts: number }): void;
  retried?(reason: string): void;
}

/** Forwarder sends admitted entries to the sequencer until they are durably sequenced. */
export class Forwarder {
  private readonly opts: ForwarderOptions;
  // When the attempts started failing with none succeeding since (null: the last one succeeded).
  private failingSince: number | null = null;
  // sequence() calls not yet settled.
  private running = 0;

  constructor(opts: ForwarderOptions) {
    this.opts = opts;
  }

  /** inFlight is the number of batches being forwarded now (sequence() calls not yet settled). */
  get inFlight(): number {
    return this.running;
  }

  /** unreachableForMs is how long attempts have failed with none succeeding (0 if none fails). */
  get unreachableForMs(): number {
    return this.failingSince === null ? 0 : Date.now() - this.failingSince;
  }

  /**
   * probe asks the lease holder's /healthz whether it sequences, and counts a yes as reaching it:
   * a frontend that refuses submissions while no sequencer answers learns this way that one does.
   */
  async probe(): Promise<void> {
    const url = this.opts.sequencerUrl();
    if (!url) return;
    try {
      const res = await fetch(`${url}/healthz`, {
        signal: AbortSignal.timeout(this.opts.attemptMs),
      });
      const body: unknown = await res.json();
      if ((body as { role?: unknown } | null)?.role === 'sequencer') this.failingSince = null;
    } catch {
      // still unreachable
    }
  }

  /**
   * sequence forwards a batch and resolves with each entry's place once the sequencer has
   * committed them all, and the publication the answer carried (unverified: the caller checks
   * it, and the proofs against it); it sends the batch again after any unknown outcome, to the
   * holder of the lease at that moment, and rejects with 'unavailable' after deadlineMs (the
   * entries may or may not be in the log then: a later submission of the same bytes finds them).
   */
  async sequence(batch: readonly Pending[]): Promise<ForwardAnswer> {
    this.running++;
    try {
      return await this.forward(batch);
    } finally {
      this.running--;
    }
  }

  private async forward(batch: readonly Pending[]): Promise<ForwardAnswer> {
    const body = encodeForwardRequest(batch.map((p) => p.entry));
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const url = this.opts.sequencerUrl();
      const why = url ? await this.attempt(url, body, batch.length) : 'no sequencer known';
      if (typeof why !== 'string') {
        this.failingSince = null;
        this.opts.events?.forwarded?.({
          entries: batch.length,
          ms: Date.now() - started,
          attempts: attempt,
        });
        return why;
      }
      this.failingSince ??= Date.now();
      this.opts.events?.retried?.(why);
      if (Date.now() - started >= this.opts.deadlineMs)
        throw new LogError('unavailable', `forward: no sequencer took the batch (${why})`);
      await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 50));
    }
  }

  // attempt returns the answer, or why this attempt did not get one.
  private async attempt(url: string, body: Uint8Array, n: number): Promise<ForwardAnswer | string> {
    const abort = new AbortController();
    // Give up on this holder when the request times out or the lease moves to another one.
    const timer = setTimeout(() => abort.abort(), this.opts.attemptMs);
    const watch = setInterval(() => {
      if (this.opts.sequencerUrl() !== url) abort.abort();
    }, 50);
    try {
      const headers = {
        'Content-Type': 'application/cbor',
        Authorization: `Bearer ${this.opts.secret}`,
        ...(this.opts.proofs ? { [PROOFS_HEADER]: '1' } : {}),
        ...(this.opts.id !== undefined ? { [FRONTEND_HEADER]: this.opts.id } : {}),
      };
      const res = await postBytes(url + FORWARD_PATH, body, headers, abort.signal);
      if (res.status === 200) {
        const placed = decodeForwardAnswer(res.body, n);
        const published = res.headers[PUBLISHED_HEADER.toLowerCase()];
        const note = fromBase64(typeof published === 'string' ? published : '');
        return { placed, note: (note && decodeUtf8(note)) || null };
      }
      if (res.status === 401 || res.status === 403)
        throw new LogError('fatal', `forward: ${url} refused the cluster secret (${res.status})`);
      return `${url} answered ${res.status}`;
    } catch (err) {
      if (err instanceof LogError && err.code === 'fatal') throw err;
      return `${url}: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      clearTimeout(timer);
      clearInterval(watch);
    }
  }
}
