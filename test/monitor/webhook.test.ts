// The webhook outbox on a real LevelDB, against a real HTTP receiver that fails, recovers, and
// sees the outbox restart: nothing is lost, nothing delivered twice, the backlog stays bounded.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createMonitorMetrics, Outbox } from '../../src/monitor/index.ts';
import { type Notification, notificationId } from '../../src/monitor/outbox.ts';

/** receiver records every POSTed body; status() says what it answers (503 while "down"). */
async function receiver() {
  const got: Notification[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (status === 200) got.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    set: (s: number) => (status = s),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const note = (i: number): Notification => ({
  id: notificationId('match', 'log.test', i, 'rule'),
  type: 'match',
  origin: 'log.test',
  url: 'http://log.test',
  index: i,
  rule: 'rule',
  entry: { i },
});

const until = async (f: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('webhook outbox', () => {
  it('retries a receiver that is down, keeps order, and delivers each id once', async () => {
    const hook = await receiver();
    const dir = join(mkdtempSync(join(tmpdir(), 'tilelog-outbox-')), 'outbox');
    const metrics = createMonitorMetrics();
    let failures = 0;
    const open = () =>
      Outbox.open(dir, {
        url: hook.url,
        retryMs: 10,
        maxRetryMs: 50,
        onAttempt: (ok) => {
          metrics.delivery(ok);
          if (!ok) failures++;
        },
        onBacklog: (n) => metrics.backlog(n),
      });
    hook.set(503);
    let box = await open();
    box.start();
    for (let i = 0; i < 3; i++) await box.add(note(i));
    await until(() => failures >= 3);
    expect(box.backlog).toBe(3);
    expect(await metrics.registry.metrics()).toMatch(/tilelog_monitor_webhook_backlog 3/);
    // A restart while the receiver is down loses nothing; a repeated add is not queued twice.
    await box.close();
    box = await open();
    expect(box.backlog).toBe(3);
    await box.add(note(1));
    expect(box.backlog).toBe(3);
    box.start();
    hook.set(200);
    expect(await box.drain(10_000)).toBe(true);
    expect(hook.got.map((n) => n.index)).toEqual([0, 1, 2]);
    // Delivered ids are remembered: finding the same match again sends nothing.
    await box.add(note(2));
    await box.add(note(3));
    expect(await box.drain(10_000)).toBe(true);
    expect(hook.got.map((n) => n.index)).toEqual([0, 1, 2, 3]);
    expect(await metrics.registry.metrics()).toMatch(/tilelog_monitor_webhook_backlog 0/);
    expect(await metrics.registry.metrics()).toMatch(
      /tilelog_monitor_webhook_deliveries_total\{result="failed"\} [1-9]/,
    );
    await box.close();
    // A receiver that is gone altogether (connection refused) is retried the same way.
    await hook.close();
    box = await open();
    box.start();
    await box.add(note(4));
    const before = failures;
    await until(() => failures >= before + 2);
    expect(box.backlog).toBe(1);
    await box.close();
  });

  it('forgets delivered ids below the saved position, and only those', async () => {
    const hook = await receiver();
    const dir = join(mkdtempSync(join(tmpdir(), 'tilelog-outbox-')), 'outbox');
    const box = await Outbox.open(dir, { url: hook.url, retryMs: 10, maxRetryMs: 20 });
    box.start();
    const other = { ...note(1), url: 'http://other.test', id: 'other' };
    for (const n of [note(0), note(1), note(2), note(3), other]) await box.add(n);
    expect(await box.drain(10_000)).toBe(true);
    expect(await box.markers()).toBe(5);
    // The position in http://log.test is saved at 2: ids 0 and 1 cannot be found again.
    await box.forget('http://log.test', 2);
    expect(await box.markers()).toBe(3);
    // At and above the position they are still remembered: a crash there repeats nothing.
    await box.add(note(2));
    await box.add(note(3));
    await box.add(other);
    expect(await box.drain(10_000)).toBe(true);
    expect(hook.got).toHaveLength(5);
    // A marker of a notification still queued stays until it is delivered.
    hook.set(503);
    await box.add(note(4));
    await box.forget('http://log.test', 5);
    expect(await box.markers()).toBe(2); // other, and 4 (queued)
    hook.set(200);
    expect(await box.drain(10_000)).toBe(true);
    await box.forget('http://log.test', 5);
    expect(await box.markers()).toBe(1);
    expect(hook.got.map((n) => n.index)).toEqual([0, 1, 2, 3, 1, 4]);
    await box.close();
    await hook.close();
  });

  it('bounds the backlog: add waits for room', async () => {
    const hook = await receiver();
    hook.set(503);
    const dir = join(mkdtempSync(join(tmpdir(), 'tilelog-outbox-')), 'outbox');
    const box = await Outbox.open(dir, {
      url: hook.url,
      maxBacklog: 2,
      retryMs: 10,
      maxRetryMs: 20,
    });
    box.start();
    await box.add(note(0));
    await box.add(note(1));
    let third = false;
    const p = box.add(note(2)).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(third).toBe(false);
    expect(box.backlog).toBe(2);
    hook.set(200);
    await p;
    expect(await box.drain(10_000)).toBe(true);
    expect(hook.got.map((n) => n.index)).toEqual([0, 1, 2]);
    await box.close();
    await hook.close();
  });
});
