/**
 * Time as the sequencer sees it. The pool's batching and deadlines, the publisher's intervals and
 * the witnesses' backoff all read this clock, so tests can inject one and control time.
 */

/**
 * Clock tells the time and runs a function later; after() returns a function that cancels. now()
 * is wall-clock time (Unix milliseconds: checkpoint and cosignature timestamps); monotonic() never
 * jumps, so durations that safety rests on (the lease) are measured with it.
 */
export interface Clock {
  now(): number;
  monotonic(): number;
  after(ms: number, f: () => void): () => void;
}

/** systemClock is wall-clock time, the process's monotonic clock and Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  after(ms, f) {
    const t = setTimeout(f, ms);
    return () => clearTimeout(t);
  },
};

/**
 * ManualClock is a clock that moves only when told to (tests): advance() runs, in time order,
 * every function that falls due.
 */
export class ManualClock implements Clock {
  private t: number;
  private readonly start: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; f: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
    this.start = start;
  }

  now(): number {
    return this.t;
  }

  monotonic(): number {
    return this.t - this.start;
  }

  after(ms: number, f: () => void): () => void {
    const id = this.seq++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), f });
    return () => this.timers.delete(id);
  }

  /** advance moves time forward by ms, running due functions (and letting promises settle). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      let next: [number, { at: number; f: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].f();
    }
    this.t = end;
    await new Promise((r) => setImmediate(r));
  }
}
