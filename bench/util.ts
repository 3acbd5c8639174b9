// Shared output format for benchmarks: every line names what was measured, the limit it is
// measured against, and the ratio, so one run shows whether a target is met.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

import type { Signer } from '../src/note/index.ts';
import { Log } from '../src/sequencer/index.ts';
import { LevelStore } from '../src/storage/index.ts';

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** RESULTS is where `npm run bench` records every line, so runs can be compared. */
export const RESULTS = 'bench-results.json';

/** record appends one measured line to bench-results.json (a JSON array, one object a line). */
function record(line: Record<string, string | number | null>): void {
  const all: unknown[] = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : [];
  all.push(line);
  writeFileSync(RESULTS, '[\n' + all.map((l) => JSON.stringify(l)).join(',\n') + '\n]\n');
}

/** report prints one measured line against the limit measured in the same run, and records it. */
export function report(
  name: string,
  value: number,
  unit: string,
  limit: number,
  limitName: string,
  target?: string,
): void {
  const ratio = value / limit;
  record({
    name: name.trim(),
    value,
    unit,
    limit,
    limitName,
    ratio,
    target: target?.replace('≥', '>=').replace('≤', '<=') ?? null,
  });
  const t = target ? `  target ${target}` : '';
  console.log(
    `${name.padEnd(44)} ${fmt(value)} ${unit}  vs ${limitName} ${fmt(limit)} ${unit}  ratio ${ratio.toFixed(2)}${t}`,
  );
}

export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

export function rate(count: number, ms: number): number {
  return (count / ms) * 1000;
}

/**
 * serverNodeArgs are extra node flags for the servers a benchmark starts, from BENCH_NODE_ARGS
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under load).
 */
export function serverNodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

/**
 * sequenceAll adds every entry to log in batches of batch entries, at most three batches in
 * flight (as a busy server would), and returns entries/s once all are sequenced; it throws if
 * the log's checkpoint does not then count exactly those entries.
 */
export async function sequenceAll(
  log: { add(e: Uint8Array): Promise<unknown>; readonly state: { checkpoint: { size: number } } },
  es: readonly Uint8Array[],
  batch: number,
): Promise<number> {
  const t0 = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < es.length; i += batch) {
    inflight.push(Promise.all(es.slice(i, i + batch).map((e) => log.add(e))));
    if (inflight.length >= 3) await inflight.shift();
  }
  await Promise.all(inflight);
  const ms = performance.now() - t0;
  if (log.state.checkpoint.size !== es.length)
    throw new Error('bench: not everything was sequenced');
  return rate(es.length, ms);
}

/**
 * sequenceOnLevel sequences es into a new log in a fresh LevelDB under dir (fsync on, as a server
 * runs), in batches of batch, and returns entries/s (sequenceAll); the log is closed after.
 */
export async function sequenceOnLevel(
  dir: string,
  signer: Signer,
  es: readonly Uint8Array[],
  batch: number,
): Promise<number> {
  const store = await LevelStore.open(dir, { sync: true });
  const log = await Log.open(store, {
    origin: signer.name,
    signer,
    maxBatch: batch,
    maxAgeMs: 10,
    maxPending: 4 * batch,
  });
  const r = await sequenceAll(log, es, batch);
  await log.close();
  await store.close();
  return r;
}

/**
 * startServer spawns `node ARGV` (with serverNodeArgs: a script and its arguments) and resolves
 * once it prints its "serving URL" line; it throws with the output if the process exits first.
 */
export async function startServer(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; stderr?: 'inherit' | 'ignore' } = {},
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [...serverNodeArgs(), ...args], {
    stdio: ['ignore', 'pipe', opts.stderr ?? 'inherit'],
    env: opts.env ?? process.env,
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  while (!/serving (\S+)/.test(out)) {
    if (proc.exitCode !== null) throw new Error(out);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, url: /serving (\S+)/.exec(out)![1]! };
}

// Linux's clock ticks a second, the unit of the CPU times in /proc/<pid>/stat.
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

// statCpuUs reads a /proc stat line's user and system CPU time (fields 14 and 15) in µs.
function statCpuUs(path: string): [number, number] {
  const stat = readFileSync(path, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [(Number(f[11]) * 1e6) / CLOCK_TICKS, (Number(f[12]) * 1e6) / CLOCK_TICKS];
}

/** procCpuUs is the CPU time (user + system, all threads) process pid has used so far, in µs. */
export function procCpuUs(pid: number): number {
  const [user, system] = statCpuUs(`/proc/${pid}/stat`);
  return user + system;
}

/**
 * threadCpuUs is each thread of process pid with its [user, system] CPU time so far in µs, by
 * thread id (Linux: /proc/<pid>/task).
 */
export function threadCpuUs(pid: number): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`))
    out.set(Number(tid), statCpuUs(`/proc/${pid}/task/${tid}/stat`));
  return out;
}
