// The crash harness: drives write load at a real `tilelog serve`, kills it with SIGKILL at a
// random moment, restarts it, and after every round checks, from the outside and over HTTP only:
// every acknowledged entry is present at its acknowledged index, every checkpoint ever served is
// consistent with the latest, and the entries hash to the latest checkpoint's root (so every tile
// and bundle verifies). Usage:
//   npm run crash -- [--rounds N] [--storage s3://BUCKET/PREFIX --s3-endpoint URL]
// It prints one line per round and a summary: rounds, entries acknowledged, lost, forks.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { toHex, utf8 } from '../src/bytes.ts';
import { TlogClient } from '../src/client/index.ts';
import { type Checkpoint, openNote, parseCheckpoint, parseVerifierKey } from '../src/note/index.ts';
import { type Edge, EMPTY_EDGE } from '../src/tiles/index.ts';
import { writeLoad } from './load.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    storage: { type: 'string' },
    's3-endpoint': { type: 'string' },
    quiet: { type: 'boolean' },
  },
});
const rounds = Number(values.rounds ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'tilelog-harness-'));
const extra = values.storage
  ? ['--storage', values.storage, '--s3-endpoint', values['s3-endpoint'] ?? '', '--s3-path-style']
  : [];

async function start(): Promise<{ proc: ChildProcess; url: string; vkey: string }> {
  const proc = spawn(
    process.execPath,
    [
      'bin/tilelog.js',
      'serve',
      '--data',
      dir,
      '--listen',
      '127.0.0.1:0',
      '--origin',
      'harness.test/log',
      '--personality',
      'generic',
      '--max-age-ms',
      '3',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!/serving (\S+)/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, url: /serving (\S+)/.exec(out)![1]!, vkey: /verifier key: (\S+)/.exec(out)![1]! };
}

let server = await start();
const verifier = parseVerifierKey(server.vkey);
let edge: Edge = EMPTY_EDGE;
let verified: Checkpoint | null = null;
let totalAcked = 0;
let lost = 0;
let forks = 0;
for (let round = 1; round <= rounds; round++) {
  const acked = new Map<string, number>();
  const served = new Set<string>();
  const stop = { done: false };
  const running = writeLoad(server.url, `round ${round}`, 16, acked, served, stop);
  await new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
  const exited = new Promise((r) => server.proc.once('exit', r));
  server.proc.kill('SIGKILL');
  await exited;
  stop.done = true;
  await running;
  server = await start();
  const client = new TlogClient({ url: server.url, verifiers: [verifier] });
  const { checkpoint } = await client.checkpoint();
  // Every checkpoint served this round, and the last verified one, must be consistent with it.
  for (const note of served) {
    try {
      await client.checkConsistent(parseCheckpoint(openNote(note, [verifier]).text), checkpoint);
    } catch {
      forks++;
    }
  }
  if (verified) await client.checkConsistent(verified, checkpoint).catch(() => forks++);
  // Read the new entries; they must hash to the new root (this checks every new bundle and tile).
  const at = new Map<string, number>();
  const it = client.follow(edge, checkpoint);
  for (;;) {
    const next = await it.next();
    if (next.done) {
      edge = next.value;
      break;
    }
    at.set(toHex(next.value.entry), next.value.index);
  }
  verified = checkpoint;
  for (const [entry, index] of acked) if (at.get(toHex(utf8(entry))) !== index) lost++;
  totalAcked += acked.size;
  if (!values.quiet || round % 50 === 0 || round === rounds) {
    console.log(
      `round ${round}: size ${checkpoint.size}, acknowledged ${acked.size}, lost ${lost}, forks ${forks}`,
    );
  }
}
server.proc.kill('SIGKILL');
console.log(`${rounds} rounds, ${totalAcked} entries acknowledged, ${lost} lost, ${forks} forks`);
process.exit(lost === 0 && forks === 0 ? 0 : 1);
