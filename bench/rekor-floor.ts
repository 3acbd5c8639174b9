// The parts of the Rekor bench's floor that are not HTTP (bench/rekor.bench.ts): a verify on a
// worker thread while the machine is loaded as the server loads it, and the durable sequencing of
// entries of a Rekor entry's size with their answers, in process. Each is measured in CPU time.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { entryBytes, logAdmitted } from '../src/api/create.ts';
import { generateSignerKey, parseSignerKey } from '../src/note/index.ts';
import { Log } from '../src/sequencer/index.ts';
import { LevelStore } from '../src/storage/index.ts';

// The worker verifies the calls over and over until told to stop, and reports its own thread's
// CPU time (schedstat: nanoseconds on a CPU, not ticks) over the verifies it finished.
const VERIFY_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const onCpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
import(workerData.module).then(async ({ verifyEcdsaDigest }) => {
  let stop = false;
  parentPort.on('message', () => (stop = true));
  for (const [d, s] of workerData.calls) verifyEcdsaDigest('prime256v1', workerData.point, d, s);
  parentPort.postMessage('warm');
  let n = 0;
  const t0 = onCpuNs();
  while (!stop) {
    for (const [d, s] of workerData.calls)
      if (!verifyEcdsaDigest('prime256v1', workerData.point, d, s)) throw new Error('bad signature');
    n += workerData.calls.length;
    await new Promise((r) => setImmediate(r));
  }
  parentPort.postMessage({ n, ns: onCpuNs() - t0 });
});
`;

/**
 * verifyUnderLoad runs during() while a worker thread verifies calls (the server's call,
 * verifyEcdsaDigest) without pause, and returns during()'s result and the worker's CPU µs per
 * verify: a verify as the server's admission worker does it, beside a busy main thread.
 */
export async function verifyUnderLoad<T>(
  calls: readonly (readonly [Uint8Array, Uint8Array])[],
  point: Uint8Array,
  during: () => Promise<T>,
): Promise<{ result: T; verifyUs: number; verifies: number }> {
  const module = new URL('../src/entries/ecdsa.js', import.meta.url).href;
  const w = new Worker(VERIFY_LOOP, { eval: true, workerData: { module, calls, point } });
  const done = new Promise<{ n: number; ns: number }>((resolve, reject) => {
    w.on('message', (m: 'warm' | { n: number; ns: number }) => m !== 'warm' && resolve(m));
    w.on('error', reject);
  });
  await new Promise((r) => w.once('message', r)); // warmed up
  const result = await during();
  w.postMessage('stop');
  const { n, ns } = await done;
  await w.terminate();
  return { result, verifyUs: ns / 1000 / Math.max(1, n), verifies: n };
}

/**
 * sequenceAndAnswer logs count unique entries of size bytes (a Rekor entry's canonical body) in a
 * new LevelDB log with fsync, batch at a time with three batches in flight (a commit takes about
 * batch entries, as the server's did), each through logAdmitted (sequencing, the inclusion proof,
 * the entry) and entryBytes (the 201 answer's bytes), and returns the CPU µs per entry (all
 * threads: LevelDB writes on libuv's pool) and the entries per commit.
 */
export async function sequenceAndAnswer(
  size: number,
  count: number,
  batch: number,
): Promise<{ cpuUs: number; perCommit: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rekor-floor-'));
  const store = await LevelStore.open(dir, { sync: true });
  let commits = 0;
  const log = await Log.open(store, {
    origin: 'bench.example/floor',
    signer: parseSignerKey(generateSignerKey('bench.example/floor')),
    events: { committed: () => void commits++ },
  });
  const one = async () => {
    const r = await logAdmitted(log, {
      body: randomBytes(size),
      kind: 'hashedrekord',
      version: '0.0.2',
    });
    if (!('entry' in r)) throw new Error('bench: a random entry was a duplicate');
    return entryBytes(r.entry).length;
  };
  const run = async (n: number) => {
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < n; i += batch) {
      inflight.push(Promise.all(Array.from({ length: Math.min(batch, n - i) }, one)));
      if (inflight.length >= 3) await inflight.shift();
    }
    await Promise.all(inflight);
  };
  await run(Math.min(count, 5000)); // warm-up
  const [c0, k0] = [process.cpuUsage(), commits];
  await run(count);
  const d = process.cpuUsage(c0);
  const perCommit = count / Math.max(1, commits - k0);
  await log.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { cpuUs: (d.user + d.system) / count, perCommit };
}
