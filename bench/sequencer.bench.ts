// Durable sequencing of 1 KiB entries with dedup, in process, on LevelDB (sync writes), against
// the rate at which plain `level` batches of the same bytes (entry bundles + dedup index keys)
// can be written with the same sync setting.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { Level } from 'level';

import { randomBytes } from '../src/crypto.ts';
import { generateSignerKey, parseSignerKey } from '../src/note/index.ts';
import { encodeBundle } from '../src/tiles/index.ts';
import { machine, rate, report, sequenceOnLevel } from './util.ts';

const N = Number(process.env.BENCH_ENTRIES ?? 200_000);
const SIZE = 1024;
const BATCH = 4096;

function entries(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const e = randomBytes(SIZE);
    new DataView(e.buffer).setUint32(0, i);
    out.push(e);
  }
  return out;
}

async function plainLevel(es: Uint8Array[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-level-'));
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  const t0 = performance.now();
  for (let i = 0; i < es.length; i += BATCH) {
    const chunk = es.slice(i, i + BATCH);
    // A chained batch, the cheapest plain way to write one atomic LevelDB batch (what LevelStore
    // does too).
    const b = db.batch();
    for (let j = 0; j < chunk.length; j += 256)
      b.put(`tile/entries/${i + j}`, encodeBundle(chunk.slice(j, j + 256)));
    chunk.forEach((_, j) =>
      b.put(`index/${(i + j).toString(16).padStart(64, '0')}`, new Uint8Array(8)),
    );
    await b.write({ sync: true } as object);
  }
  const ms = performance.now() - t0;
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  return rate(es.length, ms);
}

async function sequenced(es: Uint8Array[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-seq-'));
  const signer = parseSignerKey(generateSignerKey('bench.example/log'));
  const r = await sequenceOnLevel(dir, signer, es, BATCH);
  rmSync(dir, { recursive: true, force: true });
  return r;
}

console.log(
  `# sequencer: ${N.toLocaleString()} × 1 KiB entries, dedup on, LevelDB sync writes; ${machine()}`,
);
const es = entries(N);
// CPU per entry (all threads of this process: LevelDB's too) of each part, steadier than the rate
// on a shared machine; printed beside the rates, with the load average.
const cpu = async <T>(f: () => Promise<T>): Promise<[T, string]> => {
  const c0 = process.cpuUsage();
  const r = await f();
  const c = process.cpuUsage(c0);
  return [r, `${((c.user + c.system) / N).toFixed(1)} µs`];
};
const [base, baseCpu] = await cpu(() => plainLevel(es));
const [seq, seqCpu] = await cpu(() => sequenced(es));
console.log(
  `  CPU per entry: sequencing ${seqCpu}, plain level ${baseCpu}; load ${loadavg()[0]!.toFixed(1)}`,
);
report('durable sequencing (entries/s)', seq, 'entries/s', base, 'plain level batches', '≥ 0.8');
