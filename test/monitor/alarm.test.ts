// An ALARM reaches the webhook (#17): a Runner with a real outbox follows a real log served by
// the app; when the log then serves a fork (a checkpoint inconsistent with the verified one) or
// a bundle that does not hash into its checkpoint, the alarm is POSTed to a real HTTP receiver
// with its stable id, once, however many passes and restarts find it again.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { utf8 } from '../../src/bytes.ts';
import { Outbox, Runner } from '../../src/monitor/index.ts';
import { type Notification, notificationId } from '../../src/monitor/outbox.ts';
import {
  formatCheckpoint,
  generateSignerKey,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';

const ORIGIN = 'log.example.test/alarm';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const URL_ = 'http://log.test/api/v2';

const got: Notification[] = [];
const hook = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    got.push(JSON.parse(body));
    res.writeHead(200).end();
  });
});
afterAll(() => new Promise<void>((r) => hook.close(() => r())));

async function log(prefix: string, n: number) {
  const l = await Log.open(new MemoryStore(), { origin: ORIGIN, signer, maxAgeMs: 1 });
  await Promise.all(Array.from({ length: n }, (_, i) => l.add(utf8(`${prefix} ${i}`))));
  return { log: l, app: createApp(l) };
}

describe('monitor alarms', () => {
  it('POSTs each alarm to the webhook once, with its stable id', async () => {
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-alarm-'));
    mkdirSync(join(dir, 'state'));
    const honest = await log('real', 50);
    let served = honest.app;
    let flip = false;
    const fetch = (async (input: string) => {
      const res = await served.request(input);
      if (!flip || !input.includes('/tile/entries/') || res.status !== 200) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      body[body.length - 1]! ^= 1;
      return new Response(body, { status: 200 });
    }) as typeof globalThis.fetch;
    const target = { url: URL_, verifiers: [parseVerifierKey(signer.verifierKey)] };
    const warned: string[] = [];
    let outbox = await Outbox.open(join(dir, 'outbox'), { url, retryMs: 10 });
    outbox.start();
    const runner = () =>
      new Runner({
        stateDir: join(dir, 'state'),
        rules: [],
        from: 'start',
        outbox,
        fetch,
        print: () => undefined,
        warn: (l) => warned.push(l),
      });
    expect(await runner().pass([target])).toBe('ok');
    // A fork under the same key: 80 other entries, inconsistent with the verified 50.
    const fork = await log('fake', 80);
    served = fork.app;
    const forkCp = formatCheckpoint(parseCheckpoint(fork.log.state.note.split('\n\n')[0] + '\n'));
    for (let i = 0; i < 3; i++) expect(await runner().pass([target])).toBe('alarm');
    // A restart of the monitor (a new outbox on the same directory) finds it again.
    await outbox.close();
    outbox = await Outbox.open(join(dir, 'outbox'), { url, retryMs: 10 });
    outbox.start();
    expect(await runner().pass([target])).toBe('alarm');
    expect(await outbox.drain(10_000)).toBe(true);
    const first = {
      id: notificationId('alarm', ORIGIN, 50, forkCp),
      type: 'alarm',
      origin: ORIGIN,
      url: URL_,
      index: 50,
      checkpoint: forkCp,
    };
    expect(got).toEqual([{ ...first, reason: expect.stringMatching(/not consistent/) }]);
    // The honest log again, grown, with a bundle that does not hash into its checkpoint.
    await Promise.all(Array.from({ length: 10 }, (_, i) => honest.log.add(utf8(`new ${i}`))));
    served = honest.app;
    flip = true;
    const cp = formatCheckpoint(parseCheckpoint(honest.log.state.note.split('\n\n')[0] + '\n'));
    for (let i = 0; i < 2; i++) expect(await runner().pass([target])).toBe('alarm');
    expect(await outbox.drain(10_000)).toBe(true);
    expect(got).toHaveLength(2);
    expect(got[1]).toEqual({
      ...first,
      id: notificationId('alarm', ORIGIN, 50, cp),
      checkpoint: cp,
      reason: expect.stringMatching(/do not hash/),
    });
    expect(warned.filter((l) => l.startsWith('ALARM: '))).toHaveLength(6);
    // Once the log serves what it signed, the monitor goes on and alarms no more.
    flip = false;
    expect(await runner().pass([target])).toBe('ok');
    await outbox.close();
    await Promise.all([honest.log.close(), fork.log.close()]);
  });
});
