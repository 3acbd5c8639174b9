/** Counters and latency percentiles for the hammer, and the live status line. */

/** Stats counts what the hammer did; owned by the run loop, read by the status printer. */
export class Stats {
  writes = 0;
  reads = 0;
  errors = 0;
  verifyFailures = 0;
  /** errorKinds counts errors by a short reason (HTTP status or failure class). */
  readonly errorKinds = new Map<string, number>();
  /** failures holds the first verification failures, in full, for the final report. */
  readonly failures: string[] = [];
  private readonly writeMs: number[] = [];
  private readonly readMs: number[] = [];
  /** windowWriteMs/windowReadMs hold the latencies since the last status line (reset by it). */
  windowWriteMs: number[] = [];
  windowReadMs: number[] = [];

  write(ms: number): void {
    this.writes++;
    this.writeMs.push(ms);
    this.windowWriteMs.push(ms);
  }

  read(ms: number): void {
    this.reads++;
    this.readMs.push(ms);
    this.windowReadMs.push(ms);
  }

  error(kind: string): void {
    this.errors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
  }

  verifyFailure(what: string): void {
    this.verifyFailures++;
    if (this.failures.length < 20) this.failures.push(what);
  }

  /** percentile of all latencies of the run (writes and reads), in milliseconds; 0 with none. */
  percentile(p: number): number {
    return percentile(this.writeMs.concat(this.readMs), p);
  }
}

/** percentile is the nearest-rank percentile of ms; 0 for none. */
export function percentile(ms: readonly number[], p: number): number {
  if (ms.length === 0) return 0;
  const sorted = Float64Array.from(ms).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * statusLine is the one-line live view: rates and latencies since the last line (so its cost
 * does not grow with the run), totals and errors.
 */
export function statusLine(s: Stats, prev: { writes: number; reads: number }, dtMs: number) {
  const rate = (n: number) => ((n * 1000) / Math.max(dtMs, 1)).toFixed(0);
  const [w, r] = [s.windowWriteMs, s.windowReadMs];
  s.windowWriteMs = [];
  s.windowReadMs = [];
  const kinds = [...s.errorKinds].map(([k, n]) => `${k}×${n}`).join(' ');
  return (
    `writes ${s.writes} (${rate(s.writes - prev.writes)}/s, p50 ${percentile(w, 50).toFixed(1)} ` +
    `p99 ${percentile(w, 99).toFixed(1)} ms) · reads ${s.reads} (${rate(s.reads - prev.reads)}/s, ` +
    `p99 ${percentile(r, 99).toFixed(1)} ms) · errors ${s.errors}${kinds ? ` [${kinds}]` : ''}` +
    ` · verify failures ${s.verifyFailures}`
  );
}
