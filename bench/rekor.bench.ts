// POST /api/v2/log/entries with unique ECDSA P-256 hashedrekord requests (autocannon, default
// batching, LevelDB sync writes), against the single-core P-256 verification rates measured in
// the same run: node:crypto over an artifact, @noble/curves over a digest, and our ECDH-assisted
// digest verification (src/entries/ecdsa.ts), which is what the log uses: Node's crypto cannot
// verify ECDSA over a precomputed digest.
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { p256 } from '@noble/curves/nist.js';
import autocannon from 'autocannon';

import { verifyEcdsaDigest } from '../src/entries/ecdsa.ts';
import { sequenceAndAnswer, verifyUnderLoad } from './rekor-floor.ts';
import {
  machine,
  procCpuUs,
  rate,
  report,
  serverNodeArgs,
  startServer,
  threadCpuUs,
} from './util.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
// Enough unique requests for the warm-up and the measured run at up to ~8,000/s (a request sent
// twice is a 409, which costs less than an entry: the run stops if they run out, see below).
const N = Number(process.env.BENCH_REQUESTS ?? 200_000);
// V8 still optimizes the server's code 3 s in (--trace-opt: ~10 TurboFan compiles a second, each
// function once or twice, then fewer), on its background threads: 10 s leaves less of that
// one-time cost in the measured run (V8's threads 141 -> 90 µs per entry, same load).
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const jwk = publicKey.export({ format: 'jwk' });
const point = Buffer.concat([
  Buffer.from([4]),
  Buffer.from(jwk.x!, 'base64url'),
  Buffer.from(jwk.y!, 'base64url'),
]);

console.log(
  `# Rekor v2 write API, ${N.toLocaleString()} unique P-256 requests prepared; ${machine()}`,
);
const bodies: string[] = [];
for (let i = 0; i < N; i++) {
  const artifact = Buffer.from(`artifact ${i} ${Math.random()}`);
  const digest = createHash('sha256').update(artifact).digest().toString('base64');
  const content = sign('sha256', artifact, privateKey).toString('base64');
  bodies.push(
    JSON.stringify({
      hashedRekordRequestV002: {
        digest,
        signature: {
          content,
          verifier: { publicKey: { rawBytes: spki }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
        },
      },
    }),
  );
}
const msg = Buffer.from('x');
const sig = sign('sha256', msg, privateKey);
const digest = createHash('sha256').update(msg).digest();
let t = performance.now();
for (let i = 0; i < 5000; i++) verify('sha256', msg, publicKey, sig);
const nodeRate = rate(5000, performance.now() - t);
t = performance.now();
for (let i = 0; i < 1000; i++)
  p256.verify(sig, digest, point, { prehash: false, lowS: false, format: 'der' });
const nobleRate = rate(1000, performance.now() - t);
// The denominator: the server's own call (verifyEcdsaDigest) on the requests it is sent (each
// its own digest and signature), warmed up first, in CPU time (not wall time: the machine is
// shared).
const verifyN = Math.min(N, 4000);
const verifyCalls = bodies.slice(0, verifyN).map((b) => {
  const s = (
    JSON.parse(b) as { hashedRekordRequestV002: { digest: string; signature: { content: string } } }
  ).hashedRekordRequestV002;
  return [Buffer.from(s.digest, 'base64'), Buffer.from(s.signature.content, 'base64')] as const;
});
const verifyAll = () => {
  for (const [d, s] of verifyCalls)
    if (!verifyEcdsaDigest('prime256v1', point, d, s)) throw new Error('bench: a signature failed');
};
verifyAll();
t = performance.now();
verifyAll();
const assistedRate = rate(verifyN, performance.now() - t);
const verifyCpuUs = cpuUs(verifyAll) / verifyN;

function cpuUs(f: () => void): number {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return d.user + d.system;
}

// Where the server's CPU went, in µs by thread id (the main thread, the admission workers, V8's
// helpers for GC and compilation, libuv's pool where LevelDB writes and syncs): [user, system]
// (system time includes the loopback TCP stack's delivery of every answer).
function threadCpu(pid: number): Map<string, [number, number]> {
  return new Map([...threadCpuUs(pid)].map(([tid, us]) => [tid === pid ? 'main' : `${tid}`, us]));
}

const dir = mkdtempSync(join(tmpdir(), 'bench-rekor-'));
const proc = spawn(
  process.execPath,
  [...serverNodeArgs(), 'bin/tilelog.js', 'serve', '--data', dir, '--listen', '127.0.0.1:0'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
// BENCH_SERVER_LOG=FILE keeps the server's output (e.g. with BENCH_NODE_ARGS=--trace-deopt) in
// FILE, with a line where the measured run starts and ends.
const serverLog = process.env.BENCH_SERVER_LOG;
const mark = (what: string) => serverLog && appendFileSync(serverLog, `#### bench: ${what}\n`);
if (serverLog) writeFileSync(serverLog, '');
proc.stdout!.on('data', (d: Buffer) => {
  if (serverLog) appendFileSync(serverLog, d);
  out += d;
});
proc.on('exit', (code) => {
  if (!/serving/.test(out)) throw new Error(`bench: the server exited (${code}) before serving`);
});
while (!/serving (\S+)/.test(out)) await new Promise((r) => setTimeout(r, 20));
const url = /serving (\S+)/.exec(out)![1]!;
let next = 0;
const post = (seconds: number) =>
  new Promise<autocannon.Result>((resolve, reject) =>
    autocannon(
      {
        url,
        connections: 256,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path: new URL(url).pathname + '/log/entries',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: bodies[next++ % N] }),
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
// The tree size once the server is done: autocannon stops with requests in flight, which the
// server still admits and logs (and spends CPU on) after the run; they count as entries too.
async function settledSize(): Promise<number> {
  let last = -1;
  for (let same = 0; same < 5;) {
    await new Promise((r) => setTimeout(r, 200));
    const note = await (await fetch(url + '/checkpoint')).text();
    const size = Number(note.split('\n')[1]);
    same = size === last ? same + 1 : 0;
    last = size;
  }
  return last;
}
// The server's commits so far (its tilelog_batch_size histogram's count).
async function commitCount(): Promise<number> {
  const m = await (await fetch(new URL(url).origin + '/metrics')).text();
  return Number(/^tilelog_batch_size_count (\d+)/m.exec(m)?.[1] ?? NaN);
}
// One real answer, for the HTTP floor below (a trivial route that reads the body and sends it).
const answerFile = join(dir, 'answer.json');
writeFileSync(
  answerFile,
  await (
    await fetch(url + '/log/entries', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodies[N - 1],
    })
  ).text(),
);
// A warm-up run first: startup, the workers' module loading, JIT compilation and the first
// LevelDB files are not what an admitted entry costs.
await post(WARMUP);
const size0 = await settledSize();
const commits0 = await commitCount();
const cpu0 = procCpuUs(proc.pid!);
const threads0 = threadCpu(proc.pid!);
mark('measured run starts');
const result = await post(DURATION);
const entries = (await settledSize()) - size0;
mark('measured run ends');
// A repeated request is a cheap 409, not an admitted entry: a run that sent any would measure
// something else (on a machine fast enough to use them all up, every answer was a 409).
if (next >= N) {
  proc.kill('SIGTERM');
  throw new Error(`bench: ${next} requests sent, ${N - 1} prepared for them: raise BENCH_REQUESTS`);
}
const perCommit = entries / Math.max(1, (await commitCount()) - commits0);
const serverCpu = procCpuUs(proc.pid!) - cpu0;
const byThread = [...threadCpu(proc.pid!)]
  .map(([tid, [u, s]]) => {
    const [u0, s0] = threads0.get(tid) ?? [0, 0];
    const per = (x: number) => x / Math.max(1, entries);
    return [tid, per(u - u0 + s - s0), per(s - s0)] as const;
  })
  .filter(([, us]) => us >= 1)
  .sort((a, b) => b[1] - a[1]);
const perThread = byThread.map(([t, us, sys]) => `${t} ${Math.round(us)} (sys ${Math.round(sys)})`);
console.log(`server CPU per entry by thread (µs): ${perThread.join(', ')}`);
proc.kill('SIGTERM');

// The floor: the same requests to a trivial hono route that only reads the body and sends a real
// answer (bench/trivial-server.ts /entries), its CPU per request measured the same way.
const trivial = await startServer(['.bench-out/bench/trivial-server.js'], {
  env: { ...process.env, TRIVIAL_ANSWER: answerFile },
});
const trivialPost = (seconds: number) =>
  new Promise<autocannon.Result>((resolve, reject) =>
    autocannon(
      {
        url: trivial.url + '/entries',
        connections: 256,
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodies[0],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
await trivialPost(WARMUP);
// While a worker thread in this process verifies the same requests without pause, as the server's
// admission worker does beside its busy main thread: a verify's CPU under that load.
const tcpu0 = procCpuUs(trivial.proc.pid!);
const under = await verifyUnderLoad(verifyCalls, point, () =>
  trivialPost(Math.max(2, DURATION / 2)),
);
const tres = under.result;
const httpCpuUs = (procCpuUs(trivial.proc.pid!) - tcpu0) / Math.max(1, tres['2xx']);
trivial.proc.kill('SIGTERM');
// Durable sequencing of entries of the same size, in commits of about the server's size, with
// their proofs and answers: the rest of what an entry must cost.
const bodySize = Buffer.from(
  (JSON.parse(readFileSync(answerFile, 'utf8')) as { canonicalizedBody: string }).canonicalizedBody,
  'base64',
).length;
const seq = await sequenceAndAnswer(bodySize, 20_000, Math.max(1, Math.round(perCommit / 2)));
report(
  'POST /api/v2/log/entries (req/s)',
  result.requests.average,
  'req/s',
  nodeRate,
  'node P-256 verify/core',
);
report('  the same', result.requests.average, 'req/s', nobleRate, 'noble P-256 digest verify/core');
report(
  '  the same',
  result.requests.average,
  'req/s',
  assistedRate,
  'our digest verify (ECDH-assisted)/core',
);
console.log(
  `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms (target ≤ 1,000); 2xx ${result['2xx']}, non-2xx ${result.non2xx} (409s once the prepared requests repeat); ${entries} entries logged over the measured run`,
);
const perEntry = serverCpu / Math.max(1, entries);
report(
  'server CPU per admitted Rekor entry (µs)',
  perEntry,
  'µs',
  verifyCpuUs,
  'CPU of one P-256 digest verify',
  '≤ 1.5',
);
const us = (x: number) => `${Math.round(x)} µs`;
console.log(
  `floor: one verify (${us(verifyCpuUs)}) + the HTTP of a trivial POST route sending the same answer (${us(httpCpuUs)}, ${tres['2xx']} requests) = ratio ${((verifyCpuUs + httpCpuUs) / verifyCpuUs).toFixed(2)}, before sequencing, signing, proofs and GC`,
);
// The floor measured part by part in this run: what each admitted entry cannot avoid.
const floor = under.verifyUs + httpCpuUs + seq.cpuUs;
console.log(
  `floor per entry: a verify on a worker beside the HTTP load (${us(under.verifyUs)}, ${under.verifies} verifies) + HTTP (${us(httpCpuUs)}) + durable sequencing of ${bodySize}-byte entries with proof and answer, ${seq.perCommit.toFixed(0)} a commit (server: ${perCommit.toFixed(0)}) (${us(seq.cpuUs)}) = ${us(floor)} = ratio ${(floor / verifyCpuUs).toFixed(2)} of the verify above; the server spent ${us(perEntry)}, ${us(perEntry - floor)} over the floor`,
);
