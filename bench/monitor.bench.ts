// The monitor following a busy shard: a `tilelog serve` (Rekor personality, LevelDB) is filled
// with hashedrekord entries signed with Fulcio-like certificates (made by openssl), then, in the
// same run and from the same server, (1) every entry bundle is fetched one after another with
// plain GETs, as fast as they arrive, and (2) the monitor follows the log from its start: it
// verifies the checkpoint, reads every bundle, hashes every entry into the tree up to the root,
// parses every entry and its certificate, and matches the rules of a rekor-monitor YAML config.
// The two are timed back to back in BENCH_ROUNDS rounds (default 5); the median round is
// reported. Target (#17): the monitor's entries/s >= 0.5x the plain fetch rate.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { TlogClient } from '../src/client/index.ts';
import { monitorStep, parseMonitorConfig } from '../src/monitor/index.ts';
import { parseVerifierKey } from '../src/note/index.ts';
import { ENTRIES, TILE_WIDTH, tilePath } from '../src/tiles/index.ts';
import { machine, rate, report, serverNodeArgs } from './util.ts';

const N = Number(process.env.BENCH_ENTRIES ?? 20_000);
const CERTS = 64;
const CONCURRENCY = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

console.log(`# monitor following a log of ${N.toLocaleString()} certificate entries; ${machine()}`);
const dir = mkdtempSync(join(tmpdir(), 'bench-monitor-'));
const certs: { key: KeyObject; der: string }[] = [];
for (let i = 0; i < CERTS; i++) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(dir, 'k.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const repo = i % 16 === 0 ? 'watched' : `repo${i}`;
  execFileSync('openssl', [
    ...['req', '-x509', '-new', '-key', join(dir, 'k.pem'), '-subj', '/O=sigstore.dev'],
    ...['-days', '1', '-outform', 'DER', '-out', join(dir, 'c.der')],
    ...['-addext', `subjectAltName=URI:https://github.com/acme/${repo}/.github/workflows/r.yml@v1`],
    ...[
      '-addext',
      '1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:https://token.actions.githubusercontent.com',
    ],
  ]);
  certs.push({ key: privateKey, der: readFileSync(join(dir, 'c.der')).toString('base64') });
}
const body = (i: number) => {
  const c = certs[i % CERTS]!;
  const artifact = Buffer.from(`artifact ${i} ${Math.random()}`);
  return JSON.stringify({
    hashedRekordRequestV002: {
      digest: createHash('sha256').update(artifact).digest('base64'),
      signature: {
        content: sign('sha256', artifact, c.key).toString('base64'),
        verifier: { x509Certificate: { rawBytes: c.der }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
      },
    },
  });
};

const proc = spawn(
  process.execPath,
  [
    ...serverNodeArgs(),
    'bin/tilelog.js',
    'serve',
    '--data',
    join(dir, 'log'),
    '--listen',
    '127.0.0.1:0',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
proc.stdout!.on('data', (d) => (out += d));
while (!/serving (\S+)/.test(out)) await new Promise((r) => setTimeout(r, 20));
const url = /serving (\S+)/.exec(out)![1]!;
const vkey = /verifier key: (\S+)/.exec(out)![1]!;

// post sends entry i. A keep-alive socket that the server has just closed fails the request
// ("other side closed", seen at load 13): it is sent again, and one that had landed is then a 409.
async function post(i: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${url}/log/entries`, { method: 'POST', body: body(i) });
      const text = await res.text();
      if (res.status === 201 || (attempt > 0 && res.status === 409)) return;
      throw new Error(`POST: ${res.status} ${text}`);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof TypeError)) throw err; // fetch's network failure
    }
  }
}

let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < N; i = next++) await post(i);
  }),
);
console.log(`filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const size = Number(/\n(\d+)\n/.exec(await (await fetch(`${url}/checkpoint`)).text())![1]);
const full = Math.floor(size / 256);

async function plain(): Promise<number> {
  const t = performance.now();
  let entries = 0;
  for (let n = 0; n < full; n++) {
    const res = await fetch(`${url}/${tilePath({ level: ENTRIES, n, width: TILE_WIDTH })}`);
    if (!res.ok) throw new Error(`bundle ${n}: ${res.status}`);
    await res.arrayBuffer();
    entries += 256;
  }
  return rate(entries, performance.now() - t);
}

const rules = parseMonitorConfig(`
monitoredValues:
  certIdentities:
    - certSubject: ^https://github\\.com/acme/watched/
      issuers: [^https://token\\.actions\\.githubusercontent\\.com$]
  fingerprints: [${'ab'.repeat(32)}]
`);

// monitor follows the log from its start with a new client (an empty tile cache), as a new
// monitor would, and returns entries/s.
async function monitor(): Promise<number> {
  const client = new TlogClient({ url, verifiers: [parseVerifierKey(vkey)] });
  let matched = 0;
  const t = performance.now();
  const state = await monitorStep(client, null, rules, { match: () => void matched++ }, 'start');
  const r = rate(state.edge.size, performance.now() - t);
  // Entry i has certificate i % CERTS, watched when that is a multiple of 16.
  if (state.edge.size !== size || matched !== Math.ceil(size / 16))
    throw new Error(`monitor read ${state.edge.size} entries, ${matched} matched`);
  return r;
}

// Each round times the plain fetches, then the monitor, back to back; the round with the median
// ratio is reported (one pair alone swung from 0.28 to 0.62 on one build at load 8-10).
await plain(); // warm the server's caches for both readers alike
const rounds: { plain: number; monitor: number }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const round = { plain: await plain(), monitor: await monitor() };
  rounds.push(round);
  const ratio = (round.monitor / round.plain).toFixed(2);
  console.log(
    `round ${r + 1}: monitor ${Math.round(round.monitor)} entries/s, plain ${Math.round(round.plain)}: ${ratio} (load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );
}
proc.kill('SIGTERM');
rounds.sort((a, b) => a.monitor / a.plain - b.monitor / b.plain);
const { monitor: monitorRate, plain: plainRate } = rounds[Math.floor(rounds.length / 2)]!;
report(
  'monitor following a log (entries/s, median round)',
  monitorRate,
  'entries/s',
  plainRate,
  'plain bundle fetches',
  '≥ 0.5',
);
