// Forwarding between instances: the CBOR wire format parsed strictly, the cluster secret (401 and
// nothing appended without it), and a Forwarder that survives dead, hung and changing sequencers
// over real HTTP. The sequencer behind the endpoint is a real Log on a memory store.
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

import { serve, type ServerType } from '@hono/node-server';
import fc from 'fast-check';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';

import { postForward, secretMatches } from '../../src/api/forward.ts';
import { toHex, utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { checkInclusion, leafHash } from '../../src/merkle/index.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import {
  decodeForwardAnswer,
  encodeForwardRequest,
  Forwarder,
} from '../../src/sequencer/forward.ts';
import { InclusionChecker } from '../../src/sequencer/inclusion.ts';
import {
  decodeForwardRequest,
  encodeForwardAnswer,
  FORWARD_PATH,
  Log,
} from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { mth, path } from '../reference/rfc6962.ts';

const SECRET = 'correct horse battery staple';
const ORIGIN = 'forward.test/log';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function sequencer(): Promise<{
  url: string;
  log: Log;
  store: MemoryStore;
  target: { sequencing: boolean };
}> {
  const store = new MemoryStore();
  const log = await Log.open(store, {
    origin: ORIGIN,
    signer: parseSignerKey(generateSignerKey(ORIGIN)),
    maxAgeMs: 2,
  });
  const target = {
    sequencing: true,
    // As ClusterCore does: proofs in the newest publication, when it covers the whole batch.
    sequenceForwarded: async (entries: readonly Uint8Array[], { proofs }: { proofs: boolean }) => {
      const rs = await Promise.all(entries.map((e) => log.add(e)));
      const { note, checkpoint } = log.state;
      const placed = rs.map((r) => ({ index: r.index, duplicate: r.duplicate }));
      if (!proofs) return { placed, note };
      const hashes = await Promise.all(
        placed.map((p) => log.reader.proveInclusion(p.index, checkpoint.size)),
      );
      return { placed: placed.map((p, i) => ({ ...p, hashes: hashes[i]! })), note };
    },
  };
  const app = new Hono();
  app.post(FORWARD_PATH, (c) => postForward(c, target, SECRET));
  app.onError((err, c) =>
    c.text(err.message, err instanceof LogError && err.code === 'bad_request' ? 400 : 503),
  );
  const server: ServerType = await new Promise((r) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => r(s));
  });
  const port = (server.address() as AddressInfo).port;
  cleanup.push(async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    if ('closeAllConnections' in server) server.closeAllConnections();
    await closed;
    await log.close();
  });
  return { url: `http://127.0.0.1:${port}`, log, store, target };
}

// A TCP server that accepts connections and never answers: a paused (SIGSTOP) sequencer.
async function hung(): Promise<string> {
  const sockets: Socket[] = [];
  const server: Server = createServer((sock) => void sockets.push(sock));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => server.close(() => r(undefined)));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const pending = (entries: Uint8Array[]) =>
  entries.map((entry) => {
    const hash = leafHash(entry);
    return { entry, hash, hashHex: toHex(hash) };
  });

// forwarderTo forwards to url with the test's secret and generous bounds.
const forwarderTo = (url: string, proofs = false) =>
  new Forwarder({
    sequencerUrl: () => url,
    secret: SECRET,
    attemptMs: 2000,
    deadlineMs: 5000,
    proofs,
  });

describe('forward wire format', () => {
  it('round-trips requests and answers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 50 }), { minLength: 1 }),
        (es) => {
          const back = decodeForwardRequest(encodeForwardRequest(es));
          expect(back.map((e) => Array.from(e))).toEqual(es.map((e) => Array.from(e)));
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ index: fc.maxSafeNat(), duplicate: fc.boolean() }), { minLength: 1 }),
        (ps) => {
          expect(decodeForwardAnswer(encodeForwardAnswer(ps), ps.length)).toEqual(ps);
        },
      ),
    );
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
    const proved = fc.record({
      index: fc.maxSafeNat(),
      duplicate: fc.boolean(),
      hashes: fc.array(hash, { maxLength: 63 }),
    });
    fc.assert(
      fc.property(fc.array(proved, { minLength: 1, maxLength: 20 }), (ps) => {
        expect(decodeForwardAnswer(encodeForwardAnswer(ps), ps.length)).toEqual(ps);
      }),
    );
  });

  it('rejects anything else with a typed error, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        try {
          const es = decodeForwardRequest(b);
          expect(encodeForwardRequest(es)).toEqual(b); // what parses is canonical
        } catch (e) {
          expect((e as LogError).code).toBe('bad_request');
        }
        try {
          decodeForwardAnswer(b, 1);
        } catch (e) {
          expect((e as LogError).code).toBe('unavailable');
        }
      }),
    );
    for (const bad of [
      [0x80],
      [0x9f, 0x41, 0x61, 0xff],
      [0x81, 0x61, 0x61],
      [0x81, 0x41, 0x61, 0x00],
    ])
      expect(() => decodeForwardRequest(Uint8Array.from(bad)), bad.join()).toThrow(LogError);
    const ans = encodeForwardAnswer([{ index: 1, duplicate: false }]);
    expect(() => decodeForwardAnswer(ans, 2)).toThrow(LogError);
    // A proof that is not whole hashes, or longer than any tree allows.
    for (const hashes of [
      [new Uint8Array(31)],
      Array.from({ length: 64 }, () => new Uint8Array(32)),
    ])
      expect(() =>
        decodeForwardAnswer(encodeForwardAnswer([{ index: 1, duplicate: false, hashes }]), 1),
      ).toThrow(LogError);
  });

  it('compares the secret as a bearer token', () => {
    expect(secretMatches(`Bearer ${SECRET}`, SECRET)).toBe(true);
    expect(secretMatches(`Bearer ${SECRET}x`, SECRET)).toBe(false);
    expect(secretMatches(SECRET, SECRET)).toBe(false);
    expect(secretMatches(undefined, SECRET)).toBe(false);
    expect(secretMatches('Bearer ', '')).toBe(false); // no secret configured: nobody gets in
  });
});

describe('InclusionChecker', () => {
  const leaves = (n: number) => Array.from({ length: n }, (_, i) => utf8(`leaf ${i}`));
  // verdict is checkInclusion's: the oracle the memoizing checker must agree with.
  const verdict = (i: number, n: number, leaf: Uint8Array, p: Uint8Array[], root: Uint8Array) => {
    try {
      checkInclusion(i, n, leaf as never, p as never, root as never);
      return true;
    } catch {
      return false;
    }
  };

  it('accepts every leaf of every tree up to 40, in order and in reverse, in one checker', () => {
    for (let n = 1; n <= 40; n++) {
      const d = leaves(n);
      const root = mth(d) as never;
      for (const order of [d.map((_, i) => i), d.map((_, i) => n - 1 - i)]) {
        const c = new InclusionChecker(n, root);
        for (const i of order)
          expect(c.check(i, leafHash(d[i]!), path(i, d) as never), `${i}/${n}`).toBe(true);
      }
    }
  });

  it('agrees with checkInclusion on mangled proofs mixed with good ones', () => {
    const op = fc.record({
      index: fc.nat(),
      how: fc.constantFrom('good', 'flip', 'drop', 'extra', 'index', 'leaf', 'swap'),
      at: fc.nat(),
      bit: fc.nat(255),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 150 }), fc.array(op, { maxLength: 40 }), (n, ops) => {
        const d = leaves(n);
        const root = mth(d);
        const c = new InclusionChecker(n, root as never);
        for (const o of ops) {
          let i = o.index % n;
          let leaf = leafHash(d[i]!) as Uint8Array;
          const p = path(i, d).map((h) => h.slice());
          const j = p.length > 0 ? o.at % p.length : 0;
          if (o.how === 'flip' && p.length > 0) p[j]![o.bit % 32]! ^= 1 << (o.bit % 8);
          if (o.how === 'drop') p.pop();
          if (o.how === 'extra') p.push(root.slice());
          if (o.how === 'index') i = (i + 1 + (o.at % n)) % (n + 1);
          if (o.how === 'leaf') leaf = leafHash(utf8(`other ${o.at}`));
          if (o.how === 'swap' && p.length > 1) p.reverse();
          const want = verdict(i, n, leaf, p, root);
          expect(c.check(i, leaf as never, p as never)).toBe(want);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a proof whose hashes above a shared node differ from an accepted one', () => {
    const d = leaves(8);
    const root = mth(d) as never;
    const c = new InclusionChecker(8, root);
    expect(c.check(0, leafHash(d[0]!), path(0, d) as never)).toBe(true);
    const p = path(1, d).map((h) => h.slice());
    p[2]![0]! ^= 1; // the top hash: the level-1 node it reaches is the one leaf 0's proof passed
    expect(c.check(1, leafHash(d[1]!), p as never)).toBe(false);
    expect(c.check(1, leafHash(d[1]!), path(1, d) as never)).toBe(true);
  });
});

describe('POST /internal/forward', () => {
  it('answers 401 and appends nothing without the cluster secret', async () => {
    const s = await sequencer();
    const body = encodeForwardRequest([utf8('sneaky')]);
    const variants: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: SECRET },
    ];
    for (const headers of variants) {
      const r = await fetch(s.url + FORWARD_PATH, { method: 'POST', body, headers });
      expect(r.status).toBe(401);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(s.log.state.checkpoint.size).toBe(0);
  });

  it('answers 503 with Retry-After and appends nothing while not the sequencer', async () => {
    const s = await sequencer();
    s.target.sequencing = false;
    const r = await fetch(s.url + FORWARD_PATH, {
      method: 'POST',
      body: encodeForwardRequest([utf8('early')]),
      headers: { Authorization: `Bearer ${SECRET}` },
    });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    await new Promise((r) => setTimeout(r, 50));
    expect(s.log.state.checkpoint.size).toBe(0);
  });

  it('answers 400 to a malformed batch and appends nothing', async () => {
    const s = await sequencer();
    const r = await fetch(s.url + FORWARD_PATH, {
      method: 'POST',
      body: Uint8Array.of(0x81, 0x61, 0x61),
      headers: { Authorization: `Bearer ${SECRET}` },
    });
    expect(r.status).toBe(400);
    expect(s.log.state.checkpoint.size).toBe(0);
  });

  it('hands over the publication that covers the batch with the answer', async () => {
    const s = await sequencer();
    const f = forwarderTo(s.url);
    const { placed, note } = await f.sequence(pending(['p', 'q', 'r'].map(utf8)));
    expect(note).toEqual(s.log.state.note);
    const size = Number(note!.split('\n')[1]);
    expect(Math.max(...placed.map((p) => p.index))).toBeLessThan(size);
    expect(placed.every((p) => p.hashes === undefined)).toBe(true); // not asked for
  });

  it('carries inclusion proofs in that publication when asked for', async () => {
    const s = await sequencer();
    const f = forwarderTo(s.url, true);
    await f.sequence(pending(['a', 'b', 'c', 'd', 'e'].map(utf8)));
    const es = ['f', 'b', 'g'].map(utf8);
    const { placed, note } = await f.sequence(pending(es));
    const { size, root } = s.log.state.checkpoint;
    expect(note).toBe(s.log.state.note);
    expect(placed.map((p) => p.index)).toEqual([5, 1, 6]);
    placed.forEach((p, i) => {
      expect(p.hashes!.length).toBeGreaterThan(0);
      checkInclusion(p.index, size, leafHash(es[i]!), p.hashes!, root);
    });
  });

  it('sequences a forwarded batch, idempotently', async () => {
    const s = await sequencer();
    const f = forwarderTo(s.url);
    const entries = ['a', 'b', 'c'].map(utf8);
    const first = (await f.sequence(pending(entries))).placed;
    expect(first).toEqual([0, 1, 2].map((index) => ({ index, duplicate: false })));
    const again = (await f.sequence(pending([utf8('c'), utf8('d'), utf8('a')]))).placed;
    expect(again).toEqual([
      { index: 2, duplicate: true },
      { index: 3, duplicate: false },
      { index: 0, duplicate: true },
    ]);
    expect(s.log.state.checkpoint.size).toBe(4);
  });

  it('resends to the next sequencer when the current one is dead or hung', async () => {
    const s = await sequencer();
    const dead = await hung();
    let url = 'http://127.0.0.1:1'; // nothing listens: connection refused
    const retried: string[] = [];
    const f = new Forwarder({
      sequencerUrl: () => url,
      secret: SECRET,
      attemptMs: 300,
      deadlineMs: 10_000,
      events: { retried: (why) => retried.push(why) },
    });
    const p = f.sequence(pending([utf8('x')]));
    await new Promise((r) => setTimeout(r, 200));
    url = dead; // the lease moves to an instance that then hangs: abandoned after attemptMs
    await new Promise((r) => setTimeout(r, 700));
    url = s.url;
    expect((await p).placed).toEqual([{ index: 0, duplicate: false }]);
    expect(retried.some((w) => w.includes('127.0.0.1:1'))).toBe(true);
    expect(retried.some((w) => w.includes(dead))).toBe(true);
  });

  it('counts each batch in flight until it settles, answered or given up', async () => {
    const s = await sequencer();
    const f = forwarderTo(s.url);
    const a = f.sequence(pending([utf8('p')]));
    const b = f.sequence(pending([utf8('q')]));
    expect(f.inFlight).toBe(2);
    await a;
    await b;
    expect(f.inFlight).toBe(0);
    const g = new Forwarder({
      sequencerUrl: () => null,
      secret: SECRET,
      attemptMs: 50,
      deadlineMs: 100,
    });
    const c = g.sequence(pending([utf8('r')]));
    expect(g.inFlight).toBe(1);
    await expect(c).rejects.toMatchObject({ code: 'unavailable' });
    expect(g.inFlight).toBe(0);
  });

  it('gives up with unavailable after its deadline, and refuses a wrong secret as fatal', async () => {
    const f = new Forwarder({
      sequencerUrl: () => null,
      secret: SECRET,
      attemptMs: 100,
      deadlineMs: 200,
    });
    await expect(f.sequence(pending([utf8('y')]))).rejects.toMatchObject({ code: 'unavailable' });
    const s = await sequencer();
    const g = new Forwarder({
      sequencerUrl: () => s.url,
      secret: 'wrong',
      attemptMs: 1000,
      deadlineMs: 2000,
    });
    await expect(g.sequence(pending([utf8('z')]))).rejects.toMatchObject({ code: 'fatal' });
    expect(s.log.state.checkpoint.size).toBe(0);
  });
});
