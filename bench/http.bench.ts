// HTTP throughput with autocannon, the load generator on the same 2-core machine as the server:
// POST add (unique 1 KiB-ish entries, default batching, LevelDB sync writes) and GET tile,
// against a trivial hono route measured in the same run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';

import { machine, report, startServer } from './util.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

console.log(
  `# HTTP (autocannon, ${DURATION}s each, load generator on the same machine); ${machine()}`,
);
const trivial = await startServer(['.bench-out/bench/trivial-server.js']);
const base = await run({ url: trivial.url + '/', connections: 64, duration: DURATION });
// A tile is 8 KiB on the wire, the trivial route's answer 2 bytes: the limit for serving a tile is
// a trivial route that sends the same size of body (trivial-server.ts /tile), and the ratio
// against the 2-byte route is printed beside it.
const baseTile = await run({ url: trivial.url + '/tile', connections: 64, duration: DURATION });
trivial.proc.kill('SIGTERM');

const dir = mkdtempSync(join(tmpdir(), 'bench-http-'));
const log = await startServer([
  'bin/tilelog.js',
  'serve',
  '--data',
  dir,
  '--listen',
  '127.0.0.1:0',
  '--personality',
  'generic',
]);
let n = 0;
const pad = 'x'.repeat(1000);
const add = await run({
  url: log.url,
  connections: 512,
  duration: DURATION,
  requests: [
    {
      method: 'POST',
      path: new URL(log.url).pathname + '/add',
      headers: { 'content-type': 'application/octet-stream' },
      setupRequest: (req) => ({ ...req, body: `entry ${n++} ${pad}` }),
    },
  ],
});
const tiles = await run({ url: log.url + '/tile/0/000', connections: 64, duration: DURATION });
// autocannon's response parser is slow on random binary bodies (a trivial hono route serving 8 KiB
// of zeros does ~50k req/s under it, 8 KiB of random bytes ~10k), so when wrk is installed the
// tile read is measured with it too, against the same trivial route.
const wrk = (url: string) => {
  try {
    const out = execFileSync('wrk', ['-t1', '-c64', `-d${DURATION}s`, url], { encoding: 'utf8' });
    return Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1]);
  } catch {
    return null;
  }
};
const wrkTile = wrk(log.url + '/tile/0/000');
log.proc.kill('SIGTERM');
const trivial2 = await startServer(['.bench-out/bench/trivial-server.js']);
const wrkBase = wrkTile === null ? null : wrk(trivial2.url + '/');
const wrkBaseTile = wrkTile === null ? null : wrk(trivial2.url + '/tile');
trivial2.proc.kill('SIGTERM');

report(
  'POST add (req/s)',
  add.requests.average,
  'req/s',
  base.requests.average,
  'trivial hono route',
  '≥ 0.35',
);
console.log(
  `POST add latency: p50 ${add.latency.p50} ms, p99 ${add.latency.p99} ms (target p99 ≤ 500), non-2xx ${add.non2xx}, errors ${add.errors}`,
);
report(
  'GET tile/0/000 (req/s)',
  tiles.requests.average,
  'req/s',
  baseTile.requests.average,
  'trivial route, 8 KiB body',
  '≥ 0.8',
);
report('  the same', tiles.requests.average, 'req/s', base.requests.average, 'trivial hono route');
console.log(
  `GET tile latency: p50 ${tiles.latency.p50} ms, p99 ${tiles.latency.p99} ms, non-2xx ${tiles.non2xx}`,
);
if (wrkTile !== null && wrkBase && wrkBaseTile) {
  report(
    'GET tile/0/000 with wrk (req/s)',
    wrkTile,
    'req/s',
    wrkBaseTile,
    'trivial route, 8 KiB body, wrk',
    '≥ 0.8',
  );
  report('  the same', wrkTile, 'req/s', wrkBase, 'trivial route, wrk');
} else console.log('wrk not installed: no wrk measurement of GET tile');
