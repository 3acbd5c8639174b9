/**
 * Log-side witnessing (tlog-witness, client side). The publisher runs one round at a time, for
 * the newest integrated checkpoint; a round asks every witness endpoint of the policy in
 * parallel, once, with a consistency proof from the size that witness last cosigned, and once
 * more if its 409 reveals a different size. It keeps the cosignature lines that verify and stops
 * waiting once the quorum is met, every endpoint has answered, or the timeout passes. A 429 or a
 * timeout backs that endpoint off (Retry-After when given, else doubling from backoffMs).
 *
 * Witness lines that share a URL are one endpoint (one witness with several keys, e.g. Ed25519
 * and ML-DSA-44): it is asked once and its answer credits every policy name whose key signed it.
 *
 * Owned by Witnessing: per endpoint, the size it last cosigned and its backoff.
 */
import { toBase64 } from '../bytes.ts';
import type { Hash } from '../merkle/index.ts';
import { type Checkpoint, openNote } from '../note/index.ts';
import { type Policy, type PolicyWitness, quorumMet } from './policy.ts';

/** Prover returns the consistency proof between two sizes of the log. */
export type Prover = (size1: number, size2: number) => Promise<Hash[]>;

/** WitnessEvents observe witnessing, for metrics; they must not throw. */
export interface WitnessEvents {
  /** round: one round ended after ms, with or without the quorum. */
  round?(info: { ms: number; quorum: boolean; size: number }): void;
  /** failed: a witness (policy name) gave no cosignature in a round, and why. */
  failed?(witness: string, reason: WitnessFailure): void;
}

/** WitnessFailure says why a witness gave no cosignature in a round. */
export type WitnessFailure = 'timeout' | 'rate_limited' | 'backed_off' | 'conflict' | 'error';

/** DEFAULT_WITNESS_TIMEOUT_MS is WitnessingOptions.timeoutMs's default, and serve's. */
export const DEFAULT_WITNESS_TIMEOUT_MS = 5000;

/** WitnessingOptions configures log-side witnessing. */
export interface WitnessingOptions {
  readonly policy: Policy;
  /** timeoutMs bounds a round's wait for the quorum (DEFAULT_WITNESS_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** backoffMs is the first backoff after a 429 or timeout (default 1,000; doubles to 60,000). */
  readonly backoffMs?: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
  readonly events?: WitnessEvents;
}

/** Cosigned is a checkpoint note with the witnesses' cosignatures appended, and whether they meet the quorum. */
export interface Cosigned {
  readonly note: string;
  readonly quorum: boolean;
  readonly witnesses: readonly string[];
}

interface Endpoint {
  readonly url: string;
  readonly witnesses: readonly PolicyWitness[];
  /** last is the size this endpoint last cosigned, as far as we know (0: ask, learn from 409). */
  last: number;
  backoffUntil: number;
  backoffMs: number;
}

type Outcome = { lines: Map<string, string> } | { failure: WitnessFailure; retryAfter?: number };

const MAX_BACKOFF_MS = 60_000;

/** Witnessing collects cosignatures for a log's checkpoints, one round at a time. */
export class Witnessing {
  private readonly policy: Policy;
  private readonly timeoutMs: number;
  private readonly backoffMs: number;
  private readonly fetch: typeof globalThis.fetch;
  private readonly now: () => number;
  private readonly events: WitnessEvents;
  private readonly endpoints: Endpoint[] = [];

  constructor(opts: WitnessingOptions) {
    this.policy = opts.policy;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS;
    this.backoffMs = opts.backoffMs ?? 1000;
    this.fetch = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.now = opts.now ?? (() => Date.now());
    this.events = opts.events ?? {};
    const byUrl = new Map<string, PolicyWitness[]>();
    for (const w of this.policy.witnesses) {
      if (!w.url) continue;
      const url = w.url.replace(/\/+$/, '');
      byUrl.set(url, [...(byUrl.get(url) ?? []), w]);
    }
    for (const [url, witnesses] of byUrl)
      this.endpoints.push({ url, witnesses, last: 0, backoffUntil: 0, backoffMs: 0 });
  }

  /** cosign runs one round for note (a signed checkpoint cp) and returns it cosigned. */
  async cosign(note: string, cp: Checkpoint, prove: Prover): Promise<Cosigned> {
    const started = this.now();
    const abort = new AbortController();
    const got = new Map<string, string>();
    const answered = new Set<Endpoint>();
    let timedOut = false;
    let done = false;
    await new Promise<void>((resolve) => {
      const finish = () => {
        done = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        finish();
      }, this.timeoutMs);
      const due = this.endpoints.filter((e) => this.ready(e, started));
      let pending = due.length;
      if (pending === 0 || quorumMet(this.policy, new Set())) finish();
      for (const e of due) {
        void this.ask(e, note, cp, prove, abort.signal).then((o) => {
          if (done) return; // aborted once the round ended; not this witness's failure
          answered.add(e);
          this.record(e, o, got);
          if (--pending === 0 || quorumMet(this.policy, new Set(got.keys()))) finish();
        });
      }
    });
    abort.abort();
    for (const e of this.endpoints) {
      if (answered.has(e)) continue;
      const ready = this.ready(e, started);
      if (ready && !timedOut) continue; // the quorum came first: nobody waited for it
      if (ready) this.backOff(e);
      for (const w of e.witnesses) this.events.failed?.(w.name, ready ? 'timeout' : 'backed_off');
    }
    const names = this.policy.witnesses.map((w) => w.name).filter((n) => got.has(n));
    const quorum = quorumMet(this.policy, new Set(names));
    this.events.round?.({ ms: this.now() - started, quorum, size: cp.size });
    return { note: note + names.map((n) => got.get(n)!).join(''), quorum, witnesses: names };
  }

  private ready(e: Endpoint, now: number): boolean {
    return now >= e.backoffUntil;
  }

  private record(e: Endpoint, o: Outcome, got: Map<string, string>): void {
    if ('lines' in o) {
      e.backoffMs = 0;
      for (const w of e.witnesses) {
        const lines = o.lines.get(w.name);
        if (lines) got.set(w.name, lines);
        else this.events.failed?.(w.name, 'error');
      }
      return;
    }
    if (o.failure === 'rate_limited') this.backOff(e, o.retryAfter);
    for (const w of e.witnesses) this.events.failed?.(w.name, o.failure);
  }

  private backOff(e: Endpoint, retryAfterMs?: number): void {
    e.backoffMs = Math.min(MAX_BACKOFF_MS, e.backoffMs ? e.backoffMs * 2 : this.backoffMs);
    e.backoffUntil = this.now() + (retryAfterMs ?? e.backoffMs);
  }

  // ask sends add-checkpoint to one endpoint: once, plus one retry when its 409 names the size
  // it last cosigned. It never throws.
  private async ask(
    e: Endpoint,
    note: string,
    cp: Checkpoint,
    prove: Prover,
    signal: AbortSignal,
  ): Promise<Outcome> {
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        // It has cosigned a later checkpoint of ours (one we never published): it cannot cosign
        // this one; the next round, for a newer tree, will do.
        if (e.last > cp.size) return { failure: 'conflict' };
        const proof = e.last > 0 && e.last < cp.size ? await prove(e.last, cp.size) : [];
        const body = `old ${e.last}\n${proof.map((h) => toBase64(h) + '\n').join('')}\n${note}`;
        const res = await this.fetch(`${e.url}/add-checkpoint`, { method: 'POST', body, signal });
        const text = await res.text();
        const type = res.headers.get('content-type') ?? '';
        if (res.status === 409 && type.startsWith('text/x.tlog.size')) {
          const size = /^(0|[1-9][0-9]*)\n$/.exec(text);
          if (!size) return { failure: 'error' };
          e.last = Number(size[1]);
          continue;
        }
        if (res.status === 429) {
          const s = Number(res.headers.get('retry-after'));
          return { failure: 'rate_limited', retryAfter: s > 0 ? s * 1000 : undefined };
        }
        if (res.status !== 200) return { failure: 'error' };
        e.last = cp.size;
        return { lines: cosignatureLines(note, text, e.witnesses) };
      }
      return { failure: 'conflict' };
    } catch {
      return { failure: signal.aborted ? 'timeout' : 'error' };
    }
  }
}

// cosignatureLines keeps, for each witness, only the lines of text that verify as its
// cosignatures of note (tlog-witness: ignore cosignatures from unknown keys).
function cosignatureLines(
  note: string,
  text: string,
  witnesses: readonly PolicyWitness[],
): Map<string, string> {
  const out = new Map<string, string>();
  const candidates = text.split('\n').filter((l) => l.startsWith('\u2014 '));
  for (const w of witnesses) {
    let mine: Set<string>;
    try {
      mine = new Set(openNote(note + text, [w.verifier]).sigs.map((s) => s.base64));
    } catch {
      continue;
    }
    const lines = candidates.filter((l) => mine.has(l.slice(l.lastIndexOf(' ') + 1)));
    if (lines.length > 0) out.set(w.name, lines.join('\n') + '\n');
  }
  return out;
}
