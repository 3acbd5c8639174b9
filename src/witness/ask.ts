/**
 * Log-side witnessing (tlog-witness, client side): for each new checkpoint, ask every witness of
 * the policy in parallel, each with a consistency proof from the size it last cosigned (learning
 * it from a 409 when we do not know it), keep the cosignature lines that verify, and stop waiting
 * once the quorum is met, every witness has answered, or the timeout passes.
 */
import { toBase64 } from '../bytes.ts';
import type { Hash } from '../merkle/index.ts';
import { type Checkpoint, openNote } from '../note/index.ts';
import { type Policy, type PolicyWitness, quorumMet } from './policy.ts';

/** Prover returns the consistency proof between two sizes of the log. */
export type Prover = (size1: number, size2: number) => Promise<Hash[]>;

/** WitnessingOptions configures log-side witnessing. */
export interface WitnessingOptions {
  readonly policy: Policy;
  /** timeoutMs bounds the wait for the quorum (default 5,000 ms). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof globalThis.fetch;
}

/** Cosigned is a checkpoint note with the witnesses' cosignatures appended, and whether they meet the quorum. */
export interface Cosigned {
  readonly note: string;
  readonly quorum: boolean;
  readonly witnesses: readonly string[];
}

/** Witnessing collects cosignatures for a log's checkpoints. */
export class Witnessing {
  private readonly policy: Policy;
  private readonly timeoutMs: number;
  private readonly fetch: typeof globalThis.fetch;
  private readonly last = new Map<string, number>();

  constructor(opts: WitnessingOptions) {
    this.policy = opts.policy;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.fetch = opts.fetch ?? ((...a) => globalThis.fetch(...a));
  }

  /** cosign asks the witnesses about note (a signed checkpoint cp) and returns it cosigned. */
  async cosign(note: string, cp: Checkpoint, prove: Prover): Promise<Cosigned> {
    const abort = new AbortController();
    const got = new Map<string, string>();
    const witnesses = this.policy.witnesses.filter((w) => w.url);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.timeoutMs);
      let pending = witnesses.length;
      const done = () => {
        if (--pending === 0 || quorumMet(this.policy, new Set(got.keys()))) {
          clearTimeout(timer);
          resolve();
        }
      };
      if (pending === 0 || quorumMet(this.policy, new Set())) {
        clearTimeout(timer);
        resolve();
      }
      for (const w of witnesses) {
        this.ask(w, note, cp, prove, abort.signal)
          .then((lines) => {
            if (lines) got.set(w.name, lines);
          })
          .catch(() => undefined)
          .finally(done);
      }
    });
    abort.abort();
    const names = witnesses.map((w) => w.name).filter((n) => got.has(n));
    return {
      note: note + names.map((n) => got.get(n)!).join(''),
      quorum: quorumMet(this.policy, new Set(names)),
      witnesses: names,
    };
  }

  private async ask(
    w: PolicyWitness,
    note: string,
    cp: Checkpoint,
    prove: Prover,
    signal: AbortSignal,
  ): Promise<string | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const old = this.last.get(w.name) ?? 0;
      if (old > cp.size) return null; // it has seen a later checkpoint of ours already
      const proof = old > 0 && old < cp.size ? await prove(old, cp.size) : [];
      const body = `old ${old}\n${proof.map((h) => toBase64(h) + '\n').join('')}\n${note}`;
      const res = await this.fetch(`${w.url!.replace(/\/+$/, '')}/add-checkpoint`, {
        method: 'POST',
        body,
        signal,
      });
      const text = await res.text();
      if (
        res.status === 409 &&
        (res.headers.get('content-type') ?? '').startsWith('text/x.tlog.size')
      ) {
        const size = /^(0|[1-9][0-9]*)\n$/.exec(text);
        if (!size) return null;
        this.last.set(w.name, Number(size[1]));
        continue;
      }
      if (res.status !== 200) return null;
      // Keep only the lines that verify as this witness's cosignatures of this checkpoint.
      const opened = openNote(note + text, [w.verifier]);
      const mine = new Set(opened.sigs.map((s) => s.base64));
      const lines = text
        .split('\n')
        .filter((l) => l.startsWith('\u2014 ') && mine.has(l.slice(l.lastIndexOf(' ') + 1)));
      this.last.set(w.name, cp.size);
      return lines.length ? lines.join('\n') + '\n' : null;
    }
    return null;
  }
}
