// The integrator's state is the last durable commit. A batch whose entries are all in the log
// already commits nothing; it must not move that state to the tip, which may be a commit still
// being written: the reader would then look for tiles of a tree that is not in storage yet (the
// 500 "tile … is missing from storage" of the S3 failover test, where frontends send batches
// again to a new sequencer right after a takeover, many of them already committed).
import { describe, expect, it } from 'vitest';

import { toHex, utf8 } from '../../src/bytes.ts';
import { checkInclusion, EMPTY_ROOT, leafHash } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  type NoteSigner,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { ManualClock } from '../../src/sequencer/clock.ts';
import { Log } from '../../src/sequencer/index.ts';
import { Integrator } from '../../src/sequencer/integrator.ts';
import { TileReader } from '../../src/sequencer/reader.ts';
import { initialCommit, type Pending } from '../../src/sequencer/sequence.ts';
import type { Commit, LogStore } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';

const ORIGIN = 'log.example.test/integrator';
const signer: NoteSigner = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);
const e = (i: number) => utf8(`entry ${i}`);

// GatedStore holds commits while closed: a commit is then in flight, signed and not durable.
class GatedStore implements LogStore {
  held = 0;
  private gate: Promise<void> | null = null;
  private open: () => void = () => {};
  private readonly inner: LogStore;
  constructor(inner: LogStore) {
    this.inner = inner;
  }
  close_(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.gate = null;
    this.open();
  }
  get = (key: string) => this.inner.get(key);
  getMany = (keys: readonly string[]) => this.inner.getMany(keys);
  readLock = () => this.inner.readLock();
  close = () => this.inner.close();
  async commit(c: Commit): Promise<void> {
    if (this.gate) {
      this.held++;
      await this.gate;
    }
    await this.inner.commit(c);
  }
}

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; !f(); i++) {
    if (i > 500) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('integrator', () => {
  it('keeps the durable state when a batch of known entries passes a commit in flight', async () => {
    // e(0) is committed by an earlier process (as by a sequencer before a takeover), so this
    // one's reader has no tile of it in its cache and reads them from storage.
    const memory = new MemoryStore();
    const before = await Log.open(memory, { origin: ORIGIN, signer, maxAgeMs: 1 });
    await Promise.all([0, 1, 2].map((i) => before.add(e(i))));
    expect(before.integrated.checkpoint.size).toBe(3);
    await before.close();
    const store = new GatedStore(memory);
    const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1 });

    store.close_();
    const fourth = log.add(e(3)); // its commit (size 4) waits inside the store
    await until(() => store.held === 1);
    // e(0) again, in a batch of its own: nothing to commit, answered from the dedup index.
    const again = await log.add(e(0));
    expect(again).toMatchObject({ index: 0, size: 3 });
    expect(log.integrated.checkpoint.size).toBe(3);
    // A reader bounded by the integrated tree reads its tiles, which must be in storage: a cold
    // cache, as a cluster instance's after a takeover (this log's own reader cached them).
    const cold = new TileReader(memory, () => log.integrated.checkpoint.size);
    const root = parseCheckpoint(openNote(again.note, [verifier]).text).root;
    checkInclusion(0, 3, leafHash(e(0)), await cold.proveInclusion(0, 3), root);

    store.release();
    expect(await fourth).toMatchObject({ index: 3, size: 4 });
    expect(log.integrated.checkpoint.size).toBe(4);
    await log.close();
  });

  it('holds a partial batch for the commit in flight without pipelinePartial (S3)', async () => {
    const store = new GatedStore(new MemoryStore());
    const ctx = { store, signer, origin: ORIGIN, keepPartials: false };
    const state = await initialCommit(ctx, EMPTY_ROOT);
    const sizes: number[] = [];
    const integrator = new Integrator(ctx, state, {
      maxBatch: 4,
      pipelinePartial: false,
      events: { committed: (c) => sizes.push(c.entries) },
    });
    integrator.start(true);
    const pending = (i: number): Pending => {
      const hash = leafHash(e(i));
      return { entry: e(i), hash, hashHex: toHex(hash) };
    };
    store.close_();
    const first = integrator.sequence([pending(0)]);
    await until(() => store.held === 1);
    // Partial batches wait for that commit (to go together in the next one).
    const later = [integrator.sequence([pending(1)]), integrator.sequence([pending(2)])];
    await new Promise((r) => setTimeout(r, 20));
    expect(store.held).toBe(1);
    // Once the queue holds a full batch, that is sequenced while the commit is in flight.
    const full = integrator.sequence([3, 4, 5, 6].map(pending));
    await until(() => store.held === 2);
    store.release();
    await Promise.all([first, ...later, full]);
    expect(sizes).toEqual([1, 4, 2]);
    expect(integrator.state.checkpoint.size).toBe(7);
    await integrator.stop();
  });

  it('gathers a partial batch while gatherMs asks, until it says 0 or its wait ends', async () => {
    const store = new MemoryStore();
    const ctx = { store, signer, origin: ORIGIN, keepPartials: false };
    const state = await initialCommit(ctx, EMPTY_ROOT);
    const sizes: number[] = [];
    let fed = false; // the one frontend the sequencer waits for has forwarded
    const integrator = new Integrator(ctx, state, {
      maxBatch: 8,
      pipelinePartial: false,
      gatherMs: () => (fed ? 0 : 10_000),
      events: { committed: (c) => sizes.push(c.entries) },
    });
    integrator.start(true);
    const pending = (i: number): Pending => {
      const hash = leafHash(e(i));
      return { entry: e(i), hash, hashHex: toHex(hash) };
    };
    const own = integrator.sequence([pending(0), pending(1)]);
    await new Promise((r) => setTimeout(r, 30));
    expect(sizes).toEqual([]); // held for the forward
    fed = true;
    const forwarded = integrator.sequence([pending(2)]);
    await Promise.all([own, forwarded]);
    expect(sizes).toEqual([3]); // one commit carried both
    // A wait that ends unanswered lets the batch go alone.
    let wait = 20;
    const short = new Integrator(ctx, integrator.state, {
      maxBatch: 8,
      pipelinePartial: false,
      gatherMs: () => wait,
      events: { committed: (c) => sizes.push(c.entries) },
    });
    await integrator.stop();
    short.start(true);
    const started = Date.now();
    await short.sequence([pending(3)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(sizes).toEqual([3, 1]);
    // A full batch never waits (this wait would outlast the test's timeout).
    wait = 60_000;
    await short.sequence([4, 5, 6, 7, 8, 9, 10, 11].map(pending));
    expect(sizes).toEqual([3, 1, 8]);
    await short.stop();
  });

  it('times the gathering wait on the injected clock', async () => {
    const store = new MemoryStore();
    const ctx = { store, signer, origin: ORIGIN, keepPartials: false };
    const clock = new ManualClock();
    const sizes: number[] = [];
    const since: number[] = [];
    const integrator = new Integrator(ctx, await initialCommit(ctx, EMPTY_ROOT), {
      maxBatch: 8,
      pipelinePartial: false,
      gatherMs: (s) => (since.push(s), 60_000),
      clock,
      events: { committed: (c) => sizes.push(c.entries) },
    });
    integrator.start(true);
    const hash = leafHash(e(0));
    const done = integrator.sequence([{ entry: e(0), hash, hashHex: toHex(hash) }]);
    await clock.advance(59_999); // a minute on the clock, none in real time
    expect(sizes).toEqual([]);
    await clock.advance(1);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the wait ran on a real timer')), 5_000);
    });
    await Promise.race([done, late]).finally(() => clearTimeout(timer));
    expect(sizes).toEqual([1]);
    expect(since).toEqual([0]); // no batch had started: monotonic time 0
    await integrator.stop();
  });

  it('reads the dedup index again when an early read predates a reload', async () => {
    // Each handed-over batch's dedup read starts at once. Here it misses e(1), which another
    // writer commits before this one's pipelined commits fail and reload: the batch must be
    // checked again on the new state, or e(1) would be logged twice.
    const memory = new MemoryStore();
    const store = new GatedStore(memory);
    const ctx = { store, signer, origin: ORIGIN, keepPartials: false };
    const state = await initialCommit(ctx, EMPTY_ROOT);
    const pending = (i: number): Pending => {
      const hash = leafHash(e(i));
      return { entry: e(i), hash, hashHex: toHex(hash) };
    };
    const a = new Integrator(ctx, state, { maxBatch: 4 });
    a.start(true);
    store.close_();
    const first = a.sequence([pending(0)]);
    await until(() => store.held === 1);
    const second = a.sequence([pending(1)]); // read now: e(1) is not in the log
    await until(() => store.held === 2);
    const other = new Integrator({ ...ctx, store: memory }, state, { maxBatch: 4 });
    other.start(true);
    expect(await other.sequence([pending(1)])).toEqual([{ index: 0, duplicate: false }]);
    await other.stop();
    store.release(); // both commits of `a` conflict, reload and go again
    expect(await second).toEqual([{ index: 0, duplicate: true }]);
    expect(await first).toEqual([{ index: 1, duplicate: false }]);
    expect(a.state.checkpoint.size).toBe(2);
    await a.stop();
  });
});
