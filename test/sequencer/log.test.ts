import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { checkConsistency, checkInclusion, leafHash } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  type NoteSigner,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { LevelStore, type LogStore } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { FaultyStore } from '../helpers/faulty.ts';
import { verifyLog } from '../helpers/verify.ts';

const ORIGIN = 'log.example.test/seq';
const signer: NoteSigner = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);
const e = (i: number) => utf8(`entry number ${i}`);

function open(store: LogStore, extra: Partial<Parameters<typeof Log.open>[1]> = {}) {
  return Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 5, ...extra });
}

function cp(note: string) {
  return parseCheckpoint(openNote(note, [verifier]).text);
}

const reader = (log: Log) => (path: string) => log.reader.readTile(parseTile(path));
import { parseTilePath as parseTile } from '../../src/tiles/index.ts';

describe('sequencer', () => {
  it('publishes a signed empty checkpoint for a new log', async () => {
    const log = await open(new MemoryStore());
    expect(cp(log.state.note)).toMatchObject({ origin: ORIGIN, size: 0 });
  });

  it('assigns each entry one index, in batches, and answers only once its checkpoint is committed', async () => {
    const store = new FaultyStore(new MemoryStore());
    const log = await open(store, { maxBatch: 10, maxAgeMs: 20 });
    const results = await Promise.all(Array.from({ length: 95 }, (_, i) => log.add(e(i))));
    expect(new Set(results.map((r) => r.index)).size).toBe(95);
    expect(store.commits).toBeGreaterThanOrEqual(10);
    for (const [i, r] of results.entries()) {
      const c = cp(r.note);
      expect(c.size).toBe(r.size);
      expect(r.index).toBeLessThan(c.size);
      checkInclusion(
        r.index,
        c.size,
        leafHash(e(i)),
        await log.reader.proveInclusion(r.index, c.size),
        c.root,
      );
    }
    const entries = await verifyLog(log.state.note, verifier, reader(log), true);
    results.forEach((r, i) => expect(entries[r.index]).toEqual(e(i)));
  });

  it('returns the existing index for identical bytes, pending or committed, across a restart', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tilelog-')), 'db');
    let store = await LevelStore.open(dir);
    let log = await open(store);
    const [a, b] = await Promise.all([log.add(e(1)), log.add(e(1))]);
    expect(a.index).toBe(b.index);
    await log.add(e(2));
    expect((await log.add(e(1))).index).toBe(a.index);
    await log.close();
    await store.close();
    store = await LevelStore.open(dir);
    log = await open(store);
    expect((await log.add(e(1))).index).toBe(a.index);
    expect(log.state.checkpoint.size).toBe(2);
    expect((await log.add(e(3))).index).toBe(2);
    await log.close();
    await store.close();
  });

  it('pushes back beyond maxPending instead of queueing without bound', async () => {
    const log = await open(new MemoryStore(), { maxPending: 5, maxAgeMs: 50 });
    const settled = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => log.add(e(i))));
    const refused = settled.filter((s) => s.status === 'rejected');
    expect(refused).toHaveLength(7);
    for (const r of refused) expect((r as PromiseRejectedResult).reason.code).toBe('pushback');
    expect(log.state.checkpoint.size).toBe(5);
  });

  it('refuses an entry over 65535 bytes', async () => {
    const log = await open(new MemoryStore());
    expect(() => log.add(new Uint8Array(65536))).toThrow(LogError);
    expect(log.state.checkpoint.size).toBe(0);
  });

  it('serves consistent proofs on a 70,000-entry log for every published size', async () => {
    const log = await open(new MemoryStore(), { maxBatch: 3000, maxAgeMs: 1 });
    const notes: string[] = [];
    for (let start = 0; start < 70000;) {
      const n = Math.min(70000 - start, 1 + ((start * 7919) % 9000));
      const batch = await Promise.all(Array.from({ length: n }, (_, i) => log.add(e(start + i))));
      notes.push(batch[batch.length - 1]!.note);
      start += n;
    }
    const cps = notes.map(cp);
    expect(cps.at(-1)!.size).toBe(70000);
    await verifyLog(log.state.note, verifier, reader(log), true);
    for (let k = 0; k < 200; k++) {
      const c = cps[(k * 31) % cps.length]!;
      const index = (k * 104729) % c.size;
      checkInclusion(
        index,
        c.size,
        leafHash(e(index)),
        await log.reader.proveInclusion(index, c.size),
        c.root,
      );
      const older = cps[(k * 17) % cps.length]!;
      const [a, b] = older.size <= c.size ? [older, c] : [c, older];
      if (a.size > 0)
        checkConsistency(
          a.size,
          b.size,
          a.root,
          b.root,
          await log.reader.proveConsistency(a.size, b.size),
        );
    }
  }, 120_000);

  for (const mode of ['fail-before', 'fail-after'] as const) {
    it(`recovers from a commit that fails ${mode === 'fail-before' ? 'before' : 'after'} persisting`, async () => {
      const store = new FaultyStore(new MemoryStore());
      const log = await open(store);
      await Promise.all([0, 1, 2].map((i) => log.add(e(i))));
      const before = cp(log.state.note);
      store.commitFault = mode;
      const failed = await Promise.allSettled([3, 4].map((i) => log.add(e(i))));
      for (const f of failed) expect((f as PromiseRejectedResult).reason.code).toBe('unavailable');
      store.commitFault = 'none';
      const again = await Promise.all([3, 4, 5].map((i) => log.add(e(i))));
      // Retried entries keep the index a persisted-but-unacknowledged commit gave them.
      expect(again.map((r) => r.index)).toEqual([3, 4, 5]);
      const after = cp(log.state.note);
      expect(after.size).toBe(6);
      checkConsistency(
        before.size,
        after.size,
        before.root,
        after.root,
        await log.reader.proveConsistency(before.size, after.size),
      );
      await verifyLog(log.state.note, verifier, reader(log), true);
    });
  }

  it('answers 503-class errors while storage reads fail, and recovers', async () => {
    const store = new FaultyStore(new MemoryStore());
    const log = await open(store);
    await log.add(e(0));
    store.readFault = true;
    await expect(log.add(e(1))).rejects.toMatchObject({ code: 'unavailable' });
    store.readFault = false;
    expect((await log.add(e(1))).index).toBe(1);
  });

  it('refuses to open a store whose right edge does not match its checkpoint', async () => {
    const mem = new MemoryStore();
    const log = await open(mem);
    await Promise.all([0, 1, 2].map((i) => log.add(e(i))));
    const lock = await mem.readLock();
    await mem.commit({
      expected: lock,
      next: lock!,
      objects: [{ key: 'tile/0/000.p/3', value: new Uint8Array(96) }],
    });
    await expect(open(mem)).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('refuses to open a store signed by another key or for another origin', async () => {
    const mem = new MemoryStore();
    await open(mem);
    const other = parseSignerKey(generateSignerKey(ORIGIN));
    await expect(Log.open(mem, { origin: ORIGIN, signer: other })).rejects.toMatchObject({
      code: 'corrupt',
    });
    const mem2 = new MemoryStore();
    await open(mem2);
    await expect(Log.open(mem2, { origin: 'other.origin', signer })).rejects.toMatchObject({
      code: 'corrupt',
    });
  });
});
