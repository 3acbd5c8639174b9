// `tilelog index` as a user runs it (the built CLI as a child process): killed with SIGKILL in the
// middle of a batch, again and again, it resumes and never commits a root over input it did not
// cover (index verify rebuilds every committed root); its data in the shared Ceph bucket
// (--data s3://…) is a tlog-tiles output log readable straight from the bucket; and with
// --witness-policy the output log's checkpoints carry the witness's cosignature.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createApp, listen } from '../../src/api/index.ts';
import { main } from '../../src/cli/index.ts';
import { TlogClient } from '../../src/client/index.ts';
import { openStore } from '../../src/config.ts';
import {
  generateSignerKey,
  openNote,
  parseCosignerKey,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { EMPTY_EDGE } from '../../src/tiles/index.ts';
import { keyHash, verifyLookup } from '../../src/vindex/index.ts';
import { parseRevision } from '../../src/vindex/revision.ts';
import { publicRead } from '../helpers/bucket.ts';
import { openWitness, witnessCosigners } from '../helpers/witness.ts';
import { inputLog, inputSigner, inputVerifiers, populate, scan } from './fixture.ts';

type Listener = Awaited<ReturnType<typeof listen>>;
let input: Awaited<ReturnType<typeof inputLog>>;
let inputServer: Listener;
let dir: string;
const skey = generateSignerKey('index.example.test/process');
const signer = parseSignerKey(skey);
const outputVerifiers = [parseVerifierKey(signer.verifierKey)];

beforeAll(async () => {
  input = await inputLog();
  await populate(input.app, input.log, 0, 1100);
  inputServer = await listen(createApp(input.log).fetch, '127.0.0.1', 0, '/api/v2');
  dir = mkdtempSync(join(tmpdir(), 'tilelog-vindex-proc-'));
  writeFileSync(join(dir, 'index.key'), skey + '\n');
}, 120_000);
afterAll(() => inputServer.close());

const common = () => [
  '--input',
  inputServer.url,
  '--input-vkey',
  inputSigner.verifierKey,
  '--key',
  join(dir, 'index.key'),
  '--chunk',
  '256',
];

interface Child {
  readonly proc: ChildProcess;
  out(): string;
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  exit(): Promise<number | null>;
}

function spawnIndex(args: string[]): Child {
  const proc = spawn(process.execPath, ['bin/tilelog.js', 'index', ...common(), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    out: () => out,
    exit: () => exited,
    async waitFor(re) {
      for (const deadline = Date.now() + 60_000; ;) {
        const m = re.exec(out);
        if (m) return m;
        if (proc.exitCode !== null || Date.now() > deadline)
          throw new Error(`index: no ${re} in: ${out}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
  try {
    return { code: await main(argv, {}), err: err.join('\n') };
  } finally {
    vi.restoreAllMocks();
  }
}

// checkServed serves the index from its data with `index --listen`, runs index verify against
// it, and checks lookups of some keys against a plain scan of the input log.
async function checkServed(data: string[], revisions: number): Promise<void> {
  const child = spawnIndex([...data, '--listen', '127.0.0.1:0', '--interval', '3600']);
  try {
    const url = (await child.waitFor(/index: serving (\S+)/))[1]!;
    const cp = await new TlogClient({ url, verifiers: outputVerifiers }).checkpoint();
    expect(cp.checkpoint.size).toBe(revisions);
    const verified = await run([
      'index verify',
      '--index',
      url,
      '--vkey',
      signer.verifierKey,
      '--input',
      inputServer.url,
      '--input-vkey',
      inputSigner.verifierKey,
    ]);
    expect(verified.code, verified.err).toBe(0);
    const want = await scan(input.client());
    const keys = [...want.keys()].filter((_, i) => i % 7 === 0).slice(0, 30);
    for (const k of [...keys, 'san:nobody@example.com']) {
      const res = await fetch(`${url}/lookup/${Buffer.from(keyHash(k)).toString('hex')}`);
      const v = verifyLookup(await res.json(), {
        key: keyHash(k),
        outputVerifiers,
        inputVerifiers,
      });
      expect(v.indices, k).toEqual(want.get(k) ?? []);
      expect(v.input.checkpoint.size).toBe(input.log.state.checkpoint.size);
    }
  } finally {
    child.proc.kill('SIGKILL');
    await child.exit();
  }
}

describe('tilelog index as a process', () => {
  it('resumes after kill -9 mid-batch and commits only roots over input it covered', async () => {
    const data = ['--data', join(dir, 'killed')];
    // Kill it right after a map commit (so in the next batch), three times, at growing depths.
    for (const commits of [1, 1, 2]) {
      const child = spawnIndex([...data, '--once']);
      await child.waitFor(new RegExp(`(?:index: \\d+/1100 entries mapped\\n[^]*){${commits}}`));
      child.proc.kill('SIGKILL');
      await child.exit();
      expect(child.out()).not.toMatch(/revision/);
    }
    const done = spawnIndex([...data, '--once']);
    expect(await done.exit(), done.out()).toBe(0);
    // Resumed: the first line is past the chunks committed before the kills.
    expect(Number(/index: (\d+)\/1100/.exec(done.out())![1])).toBeGreaterThan(1024);
    expect(done.out()).toMatch(/index: revision 0/);
    // The input grows; a kill in the middle of the next catch-up, then the rest.
    await populate(input.app, input.log, 1100, 400);
    const again = spawnIndex([...data, '--once']);
    await again.waitFor(/index: \d+\/1500 entries mapped/);
    again.proc.kill('SIGKILL');
    await again.exit();
    const rest = spawnIndex([...data, '--once']);
    expect(await rest.exit(), rest.out()).toBe(0);
    await checkServed(data, 2);
  }, 240_000);

  it('keeps its output log in the S3 bucket, served from there as tlog-tiles', async () => {
    const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
    const prefix = `vindex-${process.pid}-${Date.now()}`;
    const data = [
      '--data',
      `s3://tilelog-test/${prefix}`,
      '--map',
      join(dir, 's3-map'),
      '--s3-endpoint',
      endpoint,
      '--s3-path-style',
    ];
    const built = spawnIndex([...data, '--once']);
    expect(await built.exit(), built.out()).toBe(0);
    // The bucket alone, over plain HTTP, is the output log: its checkpoint and revision leaves.
    await publicRead(endpoint, 'tilelog-test');
    const bucket = new TlogClient({
      url: `${endpoint}/tilelog-test/${prefix}`,
      verifiers: outputVerifiers,
    });
    const { checkpoint } = await bucket.checkpoint();
    expect(checkpoint.size).toBe(1);
    const leaves = [];
    for await (const { entry } of bucket.follow(EMPTY_EDGE, checkpoint)) leaves.push(entry);
    expect(parseRevision(leaves[0]!).inputNote).toBe(input.log.state.note);
    await checkServed(data, 1);
  }, 180_000);

  it('has its output checkpoints cosigned by the witnesses of --witness-policy', async () => {
    const { ed } = witnessCosigners('witness.example.test/w1', 'pq.test/w1', 41);
    const w = await openWitness([[signer.name, signer.verifierKey]], [ed]);
    const ws = await listen(w.app.fetch, '127.0.0.1', 0, '');
    try {
      const policy = join(dir, 'policy');
      const wkey = ed.verifierKey;
      writeFileSync(policy, `log ${signer.verifierKey}\nwitness W ${wkey} ${ws.url}\nquorum W\n`);
      const out = join(dir, 'witnessed');
      const r = await run([
        'index',
        ...common(),
        '--data',
        out,
        '--once',
        '--witness-policy',
        policy,
      ]);
      expect(r.code, r.err).toBe(0);
      const store = await openStore({ data: join(out, 'output') });
      const log = await Log.open(store, { origin: signer.name, signer });
      const note = openNote(log.state.note, [...outputVerifiers, parseCosignerKey(wkey)]);
      expect(note.sigs.map((s) => s.name)).toEqual([signer.name, ed.name]);
      await log.close();
      await store.close();
    } finally {
      await ws.close();
      await w.state.close();
    }
  }, 120_000);
});
