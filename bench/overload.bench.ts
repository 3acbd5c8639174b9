// Overload: drive POST add at twice the measured capacity for BENCH_OVERLOAD_SECONDS (default
// 300) and check that the server pushes back (503 + Retry-After) instead of queueing without
// bound: RSS sampled every second stays bounded, and accepted writes keep their latency within
// the batching window plus commit time.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';

import { machine } from './util.ts';

const SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 300);
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 8500); // POST add req/s measured by http.bench.ts

const dir = mkdtempSync(join(tmpdir(), 'bench-overload-'));
const proc = spawn(
  process.execPath,
  [
    'bin/tilelog.js',
    'serve',
    '--data',
    dir,
    '--listen',
    '127.0.0.1:0',
    '--personality',
    'generic',
    '--max-pending',
    String(process.env.BENCH_MAX_PENDING ?? 512),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
proc.stdout!.on('data', (d) => (out += d));
while (!/serving (\S+)/.test(out)) await new Promise((r) => setTimeout(r, 20));
const url = /serving (\S+)/.exec(out)![1]!;
const rss: number[] = [];
const sampler = setInterval(() => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
  if (m) rss.push(Number(m[1]) / 1024);
}, 1000);
let n = 0;
const pad = 'x'.repeat(1000);
console.log(
  `# overload: ${SECONDS}s at ${2 * CAPACITY} req/s offered (2 × ${CAPACITY}), max-pending ${process.env.BENCH_MAX_PENDING ?? 512}; ${machine()}`,
);
const result = await new Promise<autocannon.Result>((resolve, reject) =>
  autocannon(
    {
      url,
      connections: 1024,
      duration: SECONDS,
      overallRate: 2 * CAPACITY,
      requests: [
        {
          method: 'POST',
          path: new URL(url).pathname + '/add',
          setupRequest: (req) => ({ ...req, body: `overload ${n++} ${pad}` }),
        },
      ],
    },
    (err, res) => (err ? reject(err) : resolve(res)),
  ),
);
clearInterval(sampler);
proc.kill('SIGTERM');
const first = rss.slice(0, Math.max(1, Math.floor(rss.length / 10)));
const last = rss.slice(-Math.max(1, Math.floor(rss.length / 10)));
const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
console.log(
  `accepted (2xx) ${result['2xx']}, pushed back (non-2xx) ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`,
);
console.log(
  `throughput ${Math.round(result.requests.average)} req/s answered; latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms (all answers)`,
);
console.log(
  `RSS: first 10% avg ${avg(first).toFixed(0)} MiB, last 10% avg ${avg(last).toFixed(0)} MiB, max ${Math.max(...rss).toFixed(0)} MiB`,
);
