// Sequencing on Ceph RGW: committed entries/s with one, two and three `tilelog serve` instances on
// one bucket prefix (one sequencer elected by the lease, the others frontends forwarding their
// batches to it), the load spread evenly over the instances by autocannon on the same machine.
// Each configuration is measured against one instance in the same run (target >= 0.9x). An
// answered POST add is a committed and published entry. Starts its own Ceph with
// tools/ceph-rgw.sh unless TILELOG_TEST_S3_ENDPOINT is set.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import autocannon from 'autocannon';

import { generateSignerKey } from '../src/note/index.ts';
import { machine, procCpuUs, report, startServer } from './util.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
// Connections in total, split over the instances, so every run offers the same load.
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 384);
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testsecret';
let endpoint = process.env.TILELOG_TEST_S3_ENDPOINT;
let cephDir: string | undefined;
if (!endpoint) {
  cephDir = join(mkdtempSync(join(tmpdir(), 'bench-ceph-')), 'c');
  endpoint = execFileSync('bash', ['tools/ceph-rgw.sh', 'start', cephDir], {
    encoding: 'utf8',
    env: { ...process.env, CEPH_RGW_PORT: '27580', CEPH_MON_PORT: '27581' },
  })
    .trim()
    .split('\n')
    .at(-1)!;
}
const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
await client.send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => undefined);
client.destroy();

const dir = mkdtempSync(join(tmpdir(), 'bench-s3-'));
const origin = 'bench.example/s3';
writeFileSync(join(dir, 'log.key'), generateSignerKey(origin) + '\n');

async function start(data: string, prefix: string): Promise<{ proc: ChildProcess; url: string }> {
  const args = [
    ...['bin/tilelog.js', 'serve', '--data', data, '--listen', '127.0.0.1:0'],
    ...['--key', join(dir, 'log.key'), '--origin', origin, '--personality', 'generic'],
    ...['--storage', `s3://bench/${prefix}`, '--s3-endpoint', endpoint!, '--s3-path-style'],
    ...['--max-pending', '1000000'],
  ];
  const env = { ...process.env, TILELOG_CLUSTER_SECRET: 'bench secret' };
  return startServer(args, { env, stderr: 'ignore' });
}

// stop ends a server: SIGTERM when profiling (--cpu-prof writes its profile at exit), after 10 s
// (or at once otherwise) SIGKILL.
async function stop(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  const profiling = (process.env.BENCH_NODE_ARGS ?? '').includes('--cpu-prof');
  proc.kill(profiling ? 'SIGTERM' : 'SIGKILL');
  const t = setTimeout(() => proc.kill('SIGKILL'), profiling ? 10_000 : 0);
  await exited;
  clearTimeout(t);
}

async function role(url: string): Promise<string | null> {
  const r = await fetch(`${new URL(url).origin}/healthz`).catch(() => null);
  return r ? ((await r.json()) as { role: string }).role : null;
}

function load(url: string, connections: number, tag: string): Promise<autocannon.Result> {
  let n = 0;
  const pad = 'x'.repeat(200);
  return new Promise((resolve, reject) =>
    autocannon(
      {
        url,
        connections,
        duration: DURATION,
        requests: [
          {
            method: 'POST',
            path: new URL(url).pathname + '/add',
            headers: { 'content-type': 'application/octet-stream' },
            setupRequest: (req) => ({ ...req, body: `s3 bench ${tag} entry ${n++} ${pad}` }),
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

// cpuMs is the CPU time (user + system, all threads) a live process has used so far.
const cpuMs = (pid: number) => procCpuUs(pid) / 1000;

// cephPids are the Ceph daemons on this machine (shared with anything else using them), whose
// CPU is part of what a commit costs on one machine. Only the daemons: a short-lived tool such
// as radosgw-admin (tests set up users with it) would be gone by the end of the window.
function cephPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => /^(ceph-(mon|osd|mgr|mds)|radosgw)$/.test(readText(`/proc/${d}/comm`).trim()))
    .map(Number);
}

// cephCpuMs is each daemon's CPU so far and its start time (field 22, to tell a pid reused by a
// daemon restarted meanwhile): null for one that is gone.
function cephCpuMs(pids: readonly number[]): ({ cpu: number; start: string } | null)[] {
  return pids.map((pid) => {
    const stat = readText(`/proc/${pid}/stat`);
    if (!stat) return null;
    const f = stat.split(') ')[1]!.split(' ');
    return { cpu: (Number(f[11]) + Number(f[12])) * 10, start: f[19]! };
  });
}

// cephUsed sums the CPU the daemons used between two readings, counting only those that ran
// throughout (one restarted or stopped in between counts 0).
function cephUsed(a: ReturnType<typeof cephCpuMs>, b: ReturnType<typeof cephCpuMs>): number {
  return a.reduce((sum, x, i) => {
    const y = b[i];
    return x && y && x.start === y.start ? sum + y.cpu - x.cpu : sum;
  }, 0);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// commits reads an instance's commits over its life (count and mean duration) and the batches it
// forwarded, from /metrics.
async function commits(url: string): Promise<string> {
  const text = await (await fetch(`${new URL(url).origin}/metrics`)).text();
  const v = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  const n = v('tilelog_commit_seconds_count');
  const mean = n > 0 ? ((v('tilelog_commit_seconds_sum') / n) * 1000).toFixed(0) : '-';
  const fwd = v('tilelog_forwarded_batches_total{outcome="sequenced"}');
  return n > 0 ? `${n} commits of mean ${mean} ms` : `${fwd} forwards`;
}

// run measures committed entries/s with k instances sharing one prefix, and prints the CPU each
// serve process used during the load per committed entry (summed over all instances), by role.
async function run(k: number): Promise<number> {
  const prefix = `bench-${k}-${process.pid}-${Date.now()}`;
  const all: { proc: ChildProcess; url: string }[] = [];
  for (let i = 0; i < k; i++) all.push(await start(join(dir, `${prefix}-${i}`), prefix));
  while (!(await Promise.all(all.map((s) => role(s.url)))).includes('sequencer'))
    await new Promise((r) => setTimeout(r, 50));
  const ceph = cephPids();
  const cpu0 = all.map((s) => cpuMs(s.proc.pid!));
  const ceph0 = cephCpuMs(ceph);
  const clients0 = process.cpuUsage(); // autocannon runs in this process
  const results = await Promise.all(
    all.map((s, i) => load(s.url, Math.floor(CONNECTIONS / k), `${k}.${i}`)),
  );
  const cpu = all.map((s, i) => cpuMs(s.proc.pid!) - cpu0[i]!);
  const cephCpu = cephUsed(ceph0, cephCpuMs(ceph));
  const used = process.cpuUsage(clients0);
  const clientsCpu = (used.user + used.system) / 1000;
  const roles = await Promise.all(all.map((s) => role(s.url)));
  const counts = await Promise.all(all.map((s) => commits(s.url)));
  await Promise.all(all.map((s) => stop(s.proc)));
  const ok = results.reduce((sum, r) => sum + r['2xx'], 0);
  const refused = results.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
  const p50 = Math.max(...results.map((r) => r.latency.p50));
  const p99 = Math.max(...results.map((r) => r.latency.p99));
  console.log(
    `  ${k} instance(s): ${ok} committed, ${refused} refused or failed, latency p50 ${p50} ms, p99 ${p99} ms`,
  );
  const perEntry = (ms: number): string => `${((ms / ok) * 1000).toFixed(0)} µs`;
  const byRole = cpu.map(
    (ms, i) =>
      `${roles[i]} ${perEntry(ms)} (p50 ${results[i]!.latency.p50} ms, ${counts[i]}, pid ${all[i]!.proc.pid})`,
  );
  const sum = cpu.reduce((a, b) => a + b, 0);
  console.log(
    `    CPU per committed entry: ${perEntry(sum)} summed (${byRole.join(', ')}); Ceph ${perEntry(cephCpu)}; bench clients ${perEntry(clientsCpu)}; load ${loadavg()[0]!.toFixed(1)}`,
  );
  return ok / DURATION;
}

console.log(
  `# S3 (Ceph RGW, loopback): POST add of ~230-byte entries, ${CONNECTIONS} connections over ` +
    `the instances, ${DURATION} s each; load average ${loadavg()[0]!.toFixed(1)}; ${machine()}`,
);
const only = (process.env.BENCH_INSTANCES ?? '1,2,3').split(',').map(Number);
const one = await run(1);
const two = only.includes(2) ? await run(2) : NaN;
const three = only.includes(3) ? await run(3) : NaN;
report('one instance (entries/s committed)', one, 'entries/s', 5000, 'aim', '≥ 5,000');
report('two instances on one bucket', two, 'entries/s', one, 'one instance', '≥ 0.9×');
report('three instances on one bucket', three, 'entries/s', one, 'one instance', '≥ 0.9×');
console.log(`# load average at the end ${loadavg()[0]!.toFixed(1)}`);
if (cephDir) execFileSync('bash', ['tools/ceph-rgw.sh', 'stop', cephDir]);
