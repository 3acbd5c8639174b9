// Integration and publication: without witnesses and with no checkpoint interval a commit
// publishes its own checkpoint (one durable write per acknowledgement); otherwise the publisher
// writes the published checkpoint in a later commit. A crash between the two (the integration
// commit landed, the publication did not) loses nothing and forks nothing: the reopened log
// publishes the integrated tree, and every entry keeps its index.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { decodeUtf8, utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { checkConsistency, checkInclusion, leafHash } from '../../src/merkle/index.ts';
import { cosignerFromSeed } from '../../src/note/cosignature.ts';
import {
  ALG_COSIGNATURE_V1,
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log, type LogOptions } from '../../src/sequencer/index.ts';
import { CHECKPOINT_KEY, type Commit, type LogStore } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { kill9, startChild } from '../helpers/server.ts';

const ORIGIN = 'log.example.test/publish';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);
const e = (i: number) => utf8(`publish test entry ${i}`);
const cp = (note: string) => parseCheckpoint(openNote(note, [verifier]).text);

type Fault = 'none' | 'fail-before' | 'fail-after';

// A store that records each commit and can fail the commits that write the published checkpoint
// without integrating anything (the publisher's own commits): before or after persisting them.
// `dead` then fails every later operation, as a process that died there would do nothing more.
class PublishFaults implements LogStore {
  readonly commits: { integrates: boolean; publishes: boolean }[] = [];
  publishFault: Fault = 'none';
  dead = false;
  readonly inner: LogStore;
  constructor(inner: LogStore) {
    this.inner = inner;
  }
  private check(): void {
    if (this.dead) throw new LogError('unavailable', 'test: the process died');
  }
  async get(key: string) {
    this.check();
    return this.inner.get(key);
  }
  async getMany(keys: readonly string[]) {
    this.check();
    return this.inner.getMany(keys);
  }
  async readLock() {
    this.check();
    return this.inner.readLock();
  }
  async commit(c: Commit) {
    this.check();
    const publishes = c.objects.some((o) => o.key === CHECKPOINT_KEY);
    const integrates = c.objects.some((o) => o.key !== CHECKPOINT_KEY);
    const fault = publishes && !integrates ? this.publishFault : 'none';
    if (fault === 'fail-before') {
      this.dead = true;
      throw new LogError('unavailable', 'test: died before the publication was written');
    }
    await this.inner.commit(c);
    this.commits.push({ integrates, publishes });
    if (fault === 'fail-after') {
      this.dead = true;
      throw new LogError('unavailable', 'test: died after the publication was written');
    }
  }
  close() {
    return this.inner.close();
  }
}

const open = (store: LogStore, extra: Partial<LogOptions> = {}) =>
  Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 2, deadlineMs: 400, ...extra });

async function published(store: LogStore) {
  const bytes = await store.get(CHECKPOINT_KEY);
  return cp(decodeUtf8(bytes!)!);
}

describe('integrate, then publish', () => {
  it('publishes in the batch commit itself without witnesses and with no interval', async () => {
    const store = new PublishFaults(new MemoryStore());
    const log = await open(store);
    store.commits.length = 0;
    for (let i = 0; i < 5; i++) {
      const r = await log.add(e(i));
      expect(r.index).toBe(i);
      expect(cp(r.note).size).toBe(i + 1);
    }
    // One durable write per acknowledgement: every commit integrates and publishes.
    expect(store.commits).toEqual(Array(5).fill({ integrates: true, publishes: true }));
    expect((await published(store)).size).toBe(5);
    expect(log.state.note).toBe(decodeUtf8((await store.inner.get(CHECKPOINT_KEY))!));
    await log.close();
  });

  it('publishes in a separate commit when a checkpoint interval is set', async () => {
    const store = new PublishFaults(new MemoryStore());
    const log = await open(store, { checkpointIntervalMs: 20 });
    store.commits.length = 0;
    const r = await log.add(e(0));
    expect(cp(r.note).size).toBe(1);
    expect(store.commits).toEqual([
      { integrates: true, publishes: false },
      { integrates: false, publishes: true },
    ]);
    await log.close();
  });

  for (const fault of ['fail-before', 'fail-after'] as const)
    it(`recovers a crash between integration and publication (${fault}): nothing lost, no fork`, async () => {
      const store = new PublishFaults(new MemoryStore());
      const log = await open(store, { checkpointIntervalMs: 20 });
      const before = await Promise.all([0, 1, 2].map((i) => log.add(e(i))));
      const old = cp(log.state.note);
      // The next batch is integrated; the publication that would answer it dies.
      store.publishFault = fault;
      const lost = await Promise.allSettled([3, 4, 5].map((i) => log.add(e(i))));
      expect(lost.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
      await log.close();
      // What the crash left: the tree integrated at 6, published at 3 or 6.
      expect(cp(decodeUtf8((await store.inner.readLock())!)!).size).toBe(6);
      expect((await published(store.inner)).size).toBe(fault === 'fail-before' ? 3 : 6);

      const again = new PublishFaults(store.inner);
      const log2 = await open(again, { checkpointIntervalMs: 20 });
      // Recovery publishes the integrated tree without being asked to.
      for (let t = 0; (await published(again)).size < 6; t++) {
        expect(t).toBeLessThan(200);
        await new Promise((r) => setTimeout(r, 10));
      }
      const latest = cp(log2.state.note);
      expect(latest.size).toBe(6);
      // No fork: what was served before is consistent with what is served now.
      const proof = await log2.reader.proveConsistency(old.size, latest.size);
      checkConsistency(old.size, latest.size, old.root, latest.root, proof);
      // Nothing lost: every entry, acknowledged or not, keeps its one index.
      const all = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => log2.add(e(i))));
      expect(all.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(all.every((r) => r.duplicate)).toBe(true);
      before.forEach((r, i) => expect(r.index).toBe(i));
      for (const r of all)
        checkInclusion(
          r.index,
          latest.size,
          leafHash(e(r.index)),
          await log2.reader.proveInclusion(r.index, latest.size),
          latest.root,
        );
      expect(log2.state.checkpoint.size).toBe(6);
      await log2.close();
    });

  it('answers 503 with Retry-After at --submit-deadline-ms while failing closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-deadline-'));
    const key = generateSignerKey('crash.test/log');
    writeFileSync(join(dir, 'log.key'), key + '\n');
    const w = cosignerFromSeed('w.example.test', ALG_COSIGNATURE_V1, new Uint8Array(32).fill(3));
    const policy = `log ${parseSignerKey(key).verifierKey}\nwitness W ${w.verifierKey} http://127.0.0.1:9\nquorum W\n`;
    writeFileSync(join(dir, 'policy'), policy);
    const c = await startChild(join(dir, 'data'), [
      ...['--key', join(dir, 'log.key'), '--personality', 'generic'],
      ...['--witness-policy', join(dir, 'policy'), '--submit-deadline-ms', '700'],
    ]);
    try {
      const t0 = Date.now();
      const r = await fetch(`${c.url}/add`, { method: 'POST', body: 'waits for a witness' });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).not.toBeNull();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
      expect(Date.now() - t0).toBeLessThan(10_000); // not the 30 s default
    } finally {
      await kill9(c);
    }
  }, 60_000);
});
