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

  write(ms: number): void {
    this.writes++;
    this.writeMs.push(ms);
  }

  read(ms: number): void {
    this.reads++;
    this.readMs.push(ms);
  }

  error(kind: string): void {
    this.errors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
  }

  verifyFailure(what: string): void {
    this.verifyFailures++;
    if (this.failures.length < 20) this.failures.push(what);
  }

  /** percentile of all latencies (writes and reads), in milliseconds; 0 with none. */
  percentile(p: number, which: 'all' | 'write' | 'read' = 'all'): number {
    const all =
      which === 'write'
        ? this.writeMs
        : which === 'read'
          ? this.readMs
          : this.writeMs.concat(this.readMs);
    if (all.length === 0) return 0;
    const sorted = Float64Array.from(all).sort();
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  }
}

/** statusLine is the one-line live view: rates since the last line, latencies, errors. */
export function statusLine(s: Stats, prev: { writes: number; reads: number }, dtMs: number) {
  const rate = (n: number) => ((n * 1000) / Math.max(dtMs, 1)).toFixed(0);
  const kinds = [...s.errorKinds].map(([k, n]) => `${k}×${n}`).join(' ');
  return (
    `writes ${s.writes} (${rate(s.writes - prev.writes)}/s, p50 ${s.percentile(50, 'write').toFixed(1)} ` +
    `p99 ${s.percentile(99, 'write').toFixed(1)} ms) · reads ${s.reads} (${rate(s.reads - prev.reads)}/s, ` +
    `p99 ${s.percentile(99, 'read').toFixed(1)} ms) · errors ${s.errors}${kinds ? ` [${kinds}]` : ''}` +
    ` · verify failures ${s.verifyFailures}`
  );
}
