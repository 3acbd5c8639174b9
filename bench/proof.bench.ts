// Inclusion proofs on a large log: grow a LevelDB log to 10M entries through the real sequencer
// (small entries, unsynced writes to keep the build short), report RSS at 1M and at 10M, and the
// latency of inclusion proofs for random leaves served from tiles (cold LRU, then warm).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { u64be } from '../src/bytes.ts';
import { checkInclusion, leafHash } from '../src/merkle/index.ts';
import { generateSignerKey, parseSignerKey } from '../src/note/index.ts';
import { Log } from '../src/sequencer/index.ts';
import { LevelStore } from '../src/storage/index.ts';
import { machine, report } from './util.ts';

const SIZE = Number(process.env.BENCH_PROOF_SIZE ?? 10_000_000);
const BATCH = 65_536;

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
}

function heapMiB(): number {
  return process.memoryUsage().heapUsed / 2 ** 20;
}

console.log(`# inclusion proofs on a ${SIZE.toLocaleString()}-entry log; ${machine()}`);
const dir = mkdtempSync(join(tmpdir(), 'bench-proof-'));
const store = await LevelStore.open(dir, { sync: false });
const signer = parseSignerKey(generateSignerKey('bench.example/proofs'));
const log = await Log.open(store, {
  origin: 'bench.example/proofs',
  signer,
  maxBatch: BATCH,
  maxAgeMs: 1,
  maxPending: 4 * BATCH,
  // Building 10M entries is not a latency test: a batch may wait long on a loaded machine.
  deadlineMs: 3_600_000,
});
const rss: Record<string, number> = {};
const t0 = performance.now();
for (let i = 0; i < SIZE; i += BATCH) {
  const n = Math.min(BATCH, SIZE - i);
  await Promise.all(Array.from({ length: n }, (_, j) => log.add(u64be(i + j))));
  const size = i + n;
  if (rss['1M'] === undefined && size >= Math.min(1_000_000, SIZE)) {
    rss['1M'] = rssMiB();
    rss['heap1M'] = heapMiB();
  }
  if (size % (BATCH * 16) === 0)
    console.log(`  ${size.toLocaleString()} entries, RSS ${rssMiB().toFixed(0)} MiB`);
}
rss['end'] = rssMiB();
rss['heapEnd'] = heapMiB();
const buildS = (performance.now() - t0) / 1000;
console.log(
  `built in ${buildS.toFixed(0)} s (${Math.round(SIZE / buildS).toLocaleString()} entries/s unsynced); RSS at 1M ${rss['1M']!.toFixed(0)} MiB, at ${SIZE.toLocaleString()} ${rss['end']!.toFixed(0)} MiB`,
);

const cp = log.state.checkpoint;
async function measure(count: number): Promise<number[]> {
  const times: number[] = [];
  for (let k = 0; k < count; k++) {
    const index = Math.floor(Math.random() * cp.size);
    const a = performance.now();
    const proof = await log.reader.proveInclusion(index, cp.size);
    times.push(performance.now() - a);
    checkInclusion(index, cp.size, leafHash(u64be(index)), proof, cp.root);
  }
  return times.sort((x, y) => x - y);
}
const pct = (t: number[], p: number) => t[Math.min(t.length - 1, Math.floor(t.length * p))]!;
const cold = await measure(2000);
const warm = await measure(2000);
report('inclusion proof p50, random leaf (ms)', pct(cold, 0.5), 'ms', 1, '1 ms target', '≤ 1');
console.log(
  `inclusion proof latency: p50 ${pct(cold, 0.5).toFixed(3)} ms, p99 ${pct(cold, 0.99).toFixed(3)} ms (first 2,000); p50 ${pct(warm, 0.5).toFixed(3)} ms, p99 ${pct(warm, 0.99).toFixed(3)} ms (next 2,000)`,
);
report('RSS growth 1M → end (MiB)', rss['end']! - rss['1M']!, 'MiB', rss['1M']!, 'RSS at 1M');
console.log(
  `JS heap in use: ${rss['heap1M']!.toFixed(1)} MiB at 1M, ${rss['heapEnd']!.toFixed(1)} MiB at the end (the rest of RSS is LevelDB's native memory)`,
);
await log.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
