// Keys in a PKCS#11 token (SoftHSM2, set up here with tools/softhsm.sh in a temporary directory)
// against key files, in the same run: checkpoint signatures/s, and durable sequencing of 1 KiB
// entries on LevelDB (sync writes) with the log key in the token against a key file (target
// ≥ 0.9: one signature per batch must not slow the log). It also prints how long the event loop
// stalled while the token signed (C_SignAsync runs on libuv's threads).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { readSignerKey } from '../src/config.ts';
import { randomBytes } from '../src/crypto.ts';
import {
  formatCheckpoint,
  generateSignerKey,
  parseSignerKey,
  type Signer,
} from '../src/note/index.ts';
import { generateEd25519 } from '../src/pkcs11/index.ts';
import { machine, rate, report, sequenceOnLevel } from './util.ts';

const N = Number(process.env.BENCH_ENTRIES ?? 100_000);
const SIGS = Number(process.env.BENCH_SIGNATURES ?? 3000);
const SIZE = 1024;
const BATCH = 4096;
const ORIGIN = 'bench.example/log';

const dir = mkdtempSync(join(tmpdir(), 'bench-pkcs11-'));
execFileSync('bash', ['tools/softhsm.sh', 'install'], { stdio: 'inherit' });
process.env.SOFTHSM2_CONF = execFileSync(
  'bash',
  ['tools/softhsm.sh', 'init', dir, 'bench', '1234'],
  {
    encoding: 'utf8',
  },
).trim();
const uri =
  'pkcs11:token=bench;object=log?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234';
await generateEd25519(uri);
const token = await readSignerKey(uri, ORIGIN);
const file = parseSignerKey(generateSignerKey(ORIGIN));

// A checkpoint body as the log signs it, a different size each time.
const message = (i: number) =>
  new TextEncoder().encode(
    formatCheckpoint({ origin: ORIGIN, size: i, root: randomBytes(32), extensions: [] }),
  );

async function signatures(
  s: Signer,
  n: number,
): Promise<{ rate: number; stallMs: number; p99Ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await new Promise((r) => setTimeout(r, 10)); // the histogram's timer starts on the next tick
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await s.sign(message(i));
  const ms = performance.now() - t0;
  // Let the delay timer fire once more: a loop that never yielded shows as one long stall.
  await new Promise((r) => setTimeout(r, 10));
  h.disable();
  return { rate: rate(n, ms), stallMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
}

async function sequenced(signer: Signer, es: Uint8Array[]): Promise<number> {
  return sequenceOnLevel(mkdtempSync(join(dir, 'seq-')), signer, es, BATCH);
}

console.log(
  `# pkcs11: SoftHSM2 Ed25519 (CKM_EDDSA) vs key files; ${N.toLocaleString()} × 1 KiB entries; ${machine()}`,
);
const f = await signatures(file, SIGS);
const t = await signatures(token, SIGS);
report('checkpoint signatures, token (sig/s)', t.rate, 'sig/s', f.rate, 'key file');
console.log(
  `  event loop stalls while signing ${SIGS} times: token longest ${t.stallMs.toFixed(1)} ms, ` +
    `p99 ${t.p99Ms.toFixed(1)} ms; key file longest ${f.stallMs.toFixed(1)} ms`,
);
const es = Array.from({ length: N }, (_, i) => {
  const e = randomBytes(SIZE);
  new DataView(e.buffer).setUint32(0, i);
  return e;
});
// Alternate the two, twice, and keep each one's best: the disk is shared and noisy.
let fileRate = 0;
let tokenRate = 0;
for (let round = 0; round < 2; round++) {
  fileRate = Math.max(fileRate, await sequenced(file, es));
  tokenRate = Math.max(tokenRate, await sequenced(token, es));
}
report(
  'durable sequencing, token log key (entries/s)',
  tokenRate,
  'entries/s',
  fileRate,
  'key file',
  '≥ 0.9',
);
rmSync(dir, { recursive: true, force: true });
