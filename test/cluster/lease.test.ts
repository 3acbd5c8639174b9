// The sequencer lease on a real S3 server (Ceph RGW), with an injected clock: one holder at a
// time, takeover only after the lease has run out on the taker's clock, step-down on a lost
// renewal or on storage errors before the lease can expire, and an unreadable lease is never
// overwritten.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { type Clock, ManualClock } from '../../src/sequencer/clock.ts';
import { Lease, type LeaseInfo } from '../../src/sequencer/index.ts';
import { formatLease, LEASE_KEY, parseLease } from '../../src/sequencer/lease.ts';
import { openS3Store, type VersionedObjects } from '../../src/storage/index.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const bucket = 'tilelog-test';
const unique = (name: string) => `${name}-${process.pid}-${Date.now()}`;
const open = (prefix: string) => openS3Store({ bucket, prefix, endpoint, forcePathStyle: true });

// A store whose writes and reads fail while `down` is set (S3 unreachable).
function flaky(store: VersionedObjects): VersionedObjects & { down: boolean } {
  const f = {
    down: false,
    getVersioned: (k: string) => (f.down ? Promise.reject(unavailable()) : store.getVersioned(k)),
    versionOf: (k: string) => (f.down ? Promise.reject(unavailable()) : store.versionOf(k)),
    putIfVersion: (k: string, v: Uint8Array, ver: string | null) =>
      f.down ? Promise.reject(unavailable()) : store.putIfVersion(k, v, ver),
  };
  return f;
}
const unavailable = () => new LogError('unavailable', 'storage: s3 down (test)');

function lease(store: VersionedObjects, id: string, clock: Clock, log: string[] = []): Lease {
  return new Lease({
    store,
    id,
    url: `http://${id}.test:8080`,
    leaseMs: 2000,
    clock,
    events: { changed: (i: LeaseInfo, why) => log.push(`${id} ${i.role} ${i.holder}: ${why}`) },
  });
}

describe('lease record', () => {
  it('round-trips and rejects anything not canonical', () => {
    const rec = fc.record({
      holder: fc.stringMatching(/^[A-Za-z0-9._:-]{0,64}$/),
      url: fc.constantFrom('', 'http://a.test:8080', 'https://log-b.example'),
      expires: fc.nat(),
    });
    fc.assert(
      fc.property(rec, (r) => {
        expect(parseLease(formatLease(r))).toEqual(r);
      }),
    );
    fc.assert(
      fc.property(rec, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, at, x) => {
        const b = formatLease(r);
        const i = at % b.length;
        const mangled = b.slice();
        mangled[i] = mangled[i]! ^ x;
        let parsed;
        try {
          parsed = parseLease(mangled);
        } catch (e) {
          expect((e as LogError).code).toBe('corrupt');
          return;
        }
        // What parses is canonical: it formats back to exactly the mangled bytes.
        expect(formatLease(parsed)).toEqual(mangled);
      }),
    );
    for (const bad of [
      '{"holder":"a","url":"http://a.test/x","expires":1}\n', // a path
      '{"url":"","holder":"a","expires":1}\n', // key order
      '{"holder":"a","url":"","expires":1}', // no newline
      '{"holder":"a b","url":"","expires":1}\n',
      '{"holder":"a","url":"","expires":-1}\n',
      '{"holder":"a","url":"","expires":1.5}\n',
      '[]\n',
    ])
      expect(() => parseLease(utf8(bad)), bad).toThrow(LogError);
  });
});

describe('lease on Ceph RGW', () => {
  it('elects one holder; the other takes over only after leaseMs on its own clock', async () => {
    const store = await open(unique('lease'));
    const clock = new ManualClock();
    const log: string[] = [];
    const a = lease(store, 'a', clock, log);
    const b = lease(store, 'b', clock, log);
    await a.tick();
    expect(a.isSequencer()).toBe(true);
    await b.tick();
    expect(b.isSequencer()).toBe(false);
    expect(b.info).toMatchObject({ role: 'frontend', holder: 'a', url: 'http://a.test:8080' });
    // a keeps renewing: b never takes over, however long it watches.
    for (let i = 0; i < 10; i++) {
      await clock.advance(600);
      await a.tick();
      await b.tick();
      expect([a.isSequencer(), b.isSequencer()]).toEqual([true, false]);
    }
    // a stops renewing (paused). It stops calling itself sequencer a margin before b may take over.
    await clock.advance(1499);
    expect(a.isSequencer()).toBe(true);
    await clock.advance(1);
    expect(a.isSequencer()).toBe(false);
    await b.tick();
    expect(b.isSequencer()).toBe(false); // b first saw the last renewal 2100 ms ago... not 2000 later
    await clock.advance(500);
    await b.tick();
    expect(b.isSequencer()).toBe(true);
    expect(b.info.holder).toBe('b');
    // a resumes: its renewal names a version that is gone, so it steps down and follows b.
    await a.tick();
    expect(a.isSequencer()).toBe(false);
    await a.tick();
    expect(a.info).toMatchObject({ role: 'frontend', holder: 'b', healthy: true });
    expect(log).toContain('a sequencer a: acquired');
    expect(log).toContain('b sequencer b: acquired');
    await store.close();
  }, 60_000);

  it('lets exactly one of several racing instances take a fresh lease', async () => {
    const store = await open(unique('lease-race'));
    const clock = new ManualClock();
    const all = ['p', 'q', 'r', 's'].map((id) => lease(store, id, clock));
    await Promise.all(all.map((l) => l.tick()));
    expect(all.filter((l) => l.isSequencer())).toHaveLength(1);
    await Promise.all(all.map((l) => l.tick()));
    const holder = all.find((l) => l.isSequencer())!.id;
    for (const l of all) expect(l.info.holder).toBe(holder);
    await store.close();
  }, 60_000);

  it('stops committing before its lease can expire when renewals fail, then steps down', async () => {
    const store = await open(unique('lease-down'));
    const f = flaky(store);
    const clock = new ManualClock();
    const a = lease(f, 'a', clock);
    const b = lease(store, 'b', clock);
    await a.tick();
    await b.tick();
    f.down = true;
    const seenByB = clock.monotonic();
    let lastTrue = 0;
    for (let t = 0; t < 3000; t += 100) {
      await clock.advance(100);
      await a.tick();
      if (a.isSequencer()) lastTrue = clock.monotonic();
    }
    // a gave up at least `margin` before b could take over (b saw a's record at seenByB).
    expect(lastTrue).toBeLessThan(seenByB + 2000 - a.margin + 1);
    expect(a.info.role).toBe('frontend');
    await b.tick();
    expect(b.isSequencer()).toBe(true);
    f.down = false;
    await a.tick();
    expect(a.info).toMatchObject({ role: 'frontend', holder: 'b' });
    await store.close();
  }, 60_000);

  it('never overwrites a lease it cannot parse, stays frontend and reports unhealthy', async () => {
    const store = await open(unique('lease-bad'));
    const garbage = utf8('{"holder":"x"}\n');
    await store.putIfVersion(LEASE_KEY, garbage, null);
    const clock = new ManualClock();
    const errors: string[] = [];
    const a = new Lease({
      store,
      id: 'a',
      url: 'http://a.test',
      leaseMs: 2000,
      clock,
      events: { unreadable: (e) => errors.push(e.message) },
    });
    for (let i = 0; i < 10; i++) {
      await a.tick();
      await clock.advance(5000);
    }
    expect(a.info).toMatchObject({ role: 'frontend', healthy: false, holder: null });
    expect(errors).toHaveLength(1); // logged once, not at every tick
    expect((await store.getVersioned(LEASE_KEY))!.bytes).toEqual(garbage);
    await store.close();
  }, 60_000);

  it('hands over at once on a clean stop, and takes back a record with its own id', async () => {
    const store = await open(unique('lease-release'));
    const clock = new ManualClock();
    const a = lease(store, 'a', clock);
    const b = lease(store, 'b', clock);
    await a.tick();
    await b.tick();
    await a.stop();
    expect(a.isSequencer()).toBe(false);
    await b.tick();
    expect(b.isSequencer()).toBe(true); // no wait: the record was released
    // b's renewal succeeded but its answer was lost: b reads its own id and takes it back.
    const cur = (await store.getVersioned(LEASE_KEY))!;
    const rec = formatLease({ holder: 'b', url: 'http://b.test:8080', expires: 1 });
    await store.putIfVersion(LEASE_KEY, rec, cur.version);
    b.stepDown('test');
    await b.tick();
    expect(b.isSequencer()).toBe(true);
    await store.close();
  }, 60_000);
});
