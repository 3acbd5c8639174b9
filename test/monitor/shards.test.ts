// The monitor as a user runs it (the built CLI, a child process) against two `tilelog serve`
// shards found through a SigningConfig: regex rules match across both, the old shard is finished
// when the new one appears, every match reaches a real webhook at least once and, apart from
// the delivery in flight at a kill -9 of the monitor, exactly once; a webhook that fails is
// retried, and the metrics endpoint counts what was read and matched.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { fromBase64, utf8 } from '../../src/bytes.ts';
import { type LogTrust, trustDocuments } from '../../src/entries/index.ts';
import type { Notification } from '../../src/monitor/outbox.ts';
import { makeSigner, request } from '../helpers/signers.ts';
import { ISSUER, makeCert } from './certs.ts';

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

async function run(
  args: string[],
  ready: RegExp,
): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = spawn(process.execPath, ['bin/tilelog.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!ready.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`no ${ready}: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, out: () => out };
}

/** shard runs `tilelog serve` for origin; prefix '/' serves tiles at the root, as Rekor v2 does. */
async function shard(origin: string, prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tilelog-shard-'));
  const { out } = await run(
    ['serve', '--data', dir, '--listen', '127.0.0.1:0', '--origin', origin, '--prefix', prefix],
    /serving (\S+)/,
  );
  const url = /serving (\S+)/.exec(out())![1]!;
  const vkey = /verifier key: (\S+)/.exec(out())![1]!;
  const base = url.replace(/\/api\/v2$/, '');
  return {
    origin,
    base,
    publicKey: fromBase64(vkey.split('+').slice(2).join('+'))!.subarray(1),
    post: async (body: object) => {
      const res = await fetch(`${url}/log/entries`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBe(201);
      return Number(((await res.json()) as { logIndex: string }).logIndex);
    },
  };
}

/** hook is a webhook receiver: it records every body, fails the first few, can hold one. */
async function hook(failFirst: number) {
  const got: Notification[] = [];
  let calls = 0;
  let hold: ((n: Notification) => boolean) | null = null;
  let held: (() => void) | null = null;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (++calls <= failFirst) return void res.writeHead(503).end();
      const n = JSON.parse(body) as Notification;
      got.push(n);
      if (hold?.(n)) {
        hold = null;
        held = () => res.destroy();
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    got,
    calls: () => calls,
    holdNext: (f: (n: Notification) => boolean) => (hold = f),
    held: () => held !== null,
    release: () => held?.(),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const until = async (what: string, f: () => boolean | Promise<boolean>, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const RULES = `
monitoredValues:
  certIdentities:
    - certSubject: ^https://github\\.com/acme/[a-z]+/\\.github/workflows/release\\.yml@
      issuers: [^https://token\\.actions\\.githubusercontent\\.com$]
`;
const GH = 'https://token.actions.githubusercontent.com';
const ident = (repo: string) =>
  `URI:https://github.com/acme/${repo}/.github/workflows/release.yml@v1`;

describe('monitor across shards (CLI, two tilelog serve shards, a webhook)', () => {
  it('follows every shard of a signing config, switches shards, and delivers each match', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-mon-e2e-'));
    const [s1, s2] = await Promise.all([
      shard('shard1.test', '/'),
      shard('shard2.test', '/api/v2'),
    ]);
    const now = Date.now();
    const trust = (s: typeof s1, from: number, until?: number): LogTrust => ({
      baseUrl: `https://${s.origin}`,
      signer: { name: s.origin, publicKey: s.publicKey },
      operator: 'example.test',
      keyValidFrom: new Date(now - 3600_000),
      signingValidFrom: new Date(from),
      ...(until ? { signingValidUntil: new Date(until) } : {}),
    });
    // The trusted root names the logs by their origins; the signing config points at the shards
    // where they run (the monitor then picks the key by the checkpoint's origin).
    const writeDocs = (logs: [typeof s1, LogTrust][]) => {
      const docs = trustDocuments(logs.map(([, t]) => t));
      docs.signingConfig.rekorTlogUrls.forEach((u: { url: string }, i: number) => {
        u.url = logs.find(([s]) => `https://${s.origin}` === u.url)![0].base;
        void i;
      });
      writeFileSync(join(dir, 'root.json'), JSON.stringify(docs.trustedRoot));
      writeFileSync(join(dir, 'config.json'), JSON.stringify(docs.signingConfig));
    };
    writeDocs([[s1, trust(s1, now - 3600_000)]]);
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    const web = await hook(2);
    const want = new Set<string>();
    const add = async (s: typeof s1, repo: string, issuer = GH, match = true) => {
      const i = await s.post(makeCert(ident(repo), { [ISSUER]: issuer }).request(utf8(repo)));
      if (match) want.add(`${s.origin} ${i}`);
    };
    const filler = async (s: typeof s1, n: number) => {
      const k = makeSigner('PKIX_ECDSA_P256_SHA_256');
      for (let i = 0; i < n; i++) await s.post(request(k, utf8(`filler ${s.origin} ${i}`)));
    };
    await add(s1, 'app');
    await filler(s1, 5);
    await add(s1, 'lib');
    await add(s1, 'app', 'https://evil.example', false); // wrong issuer
    await add(s1, 'Bad', GH, false); // no match: upper case
    const monitorArgs = [
      ...['monitor', '--signing-config', join(dir, 'config.json')],
      ...['--trusted-root', join(dir, 'root.json'), '--config', join(dir, 'rules.yaml')],
      ...['--state', join(dir, 'state'), '--webhook', web.url, '--interval', '1'],
      ...['--metrics', '127.0.0.1:0', '--from', 'start'],
    ];
    let mon = await run(monitorArgs, /metrics at (\S+)/);
    await until('the first two matches', () => web.got.length >= 2);
    expect(web.calls()).toBeGreaterThanOrEqual(4); // two 503s, retried
    // A delivery in flight when the monitor is killed is repeated after the restart, same id.
    web.holdNext(() => true);
    await add(s1, 'tool');
    await until('the held delivery', () => web.held());
    mon.proc.kill('SIGKILL');
    await new Promise((r) => mon.proc.once('exit', r));
    web.release();
    // The new shard appears, the old one ends (more entries reach it first).
    await add(s1, 'late');
    await filler(s2, 3);
    await add(s2, 'app');
    await add(s2, 'db');
    writeDocs([
      [s1, trust(s1, now - 3600_000, now - 120_000)],
      [s2, trust(s2, now - 60_000)],
    ]);
    mon = await run(monitorArgs, /metrics at (\S+)/);
    const metricsUrl = /metrics at (\S+)/.exec(mon.out())![1]!;
    await until(
      'every match',
      () => new Set(web.got.map((n) => `${n.origin} ${n.index}`)).size >= want.size,
    );
    await until('shard 1 finished', () => /finished at size/.test(mon.out()));
    const seen = new Set(web.got.map((n) => `${n.origin} ${n.index}`));
    expect(seen).toEqual(want);
    // Exactly once per id, but for the one in flight at the kill.
    const counts = new Map<string, number>();
    for (const n of web.got) counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
    expect([...counts.values()].filter((c) => c > 1)).toEqual([2]);
    expect(counts.size).toBe(want.size);
    const m = web.got[0]!;
    expect(m).toMatchObject({
      type: 'match',
      origin: 'shard1.test',
      rule: expect.stringMatching(/^certIdentity /),
    });
    expect((m.entry as { kind: string }).kind).toBe('hashedrekord');
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(
      /tilelog_monitor_matches_total\{log="[^"]+",rule="certIdentity [^"]+"\} [1-9]/,
    );
    expect(text).toMatch(/tilelog_monitor_entries_read_total\{log="[^"]+"\} [1-9]/);
    expect(text).toMatch(/tilelog_monitor_webhook_backlog 0/);
    // The new shard is followed on: a later match there is found too.
    await add(s2, 'web');
    await until('the match on the new shard', () =>
      web.got.some((n) => `${n.origin} ${n.index}` === [...want].at(-1)),
    );
    mon.proc.kill('SIGTERM');
    await web.close();
  });
});
