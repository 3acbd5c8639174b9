import { describe, expect, it } from 'vitest';

import { createApp, createMetrics } from '../../src/api/index.ts';
import { utf8 } from '../../src/bytes.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { type Commit } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { FaultyStore } from '../helpers/faulty.ts';

const ORIGIN = 'log.example.test/ops';
const signer = parseSignerKey(generateSignerKey(ORIGIN));

describe('operations', () => {
  it('exports Prometheus metrics for entries, dedup, batches, pushback and failures', async () => {
    const metrics = createMetrics();
    const store = new FaultyStore(new MemoryStore());
    const log = await Log.open(store, {
      origin: ORIGIN,
      signer,
      maxAgeMs: 2,
      maxPending: 40,
      events: metrics.events,
    });
    metrics.watch(log);
    const app = createApp(log, { metrics });
    await Promise.all(Array.from({ length: 30 }, (_, i) => log.add(utf8(`m${i}`))));
    await log.add(utf8('m3'));
    await Promise.allSettled(Array.from({ length: 50 }, (_, i) => log.add(utf8(`p${i}`))));
    store.commitFault = 'fail-before';
    await log.add(utf8('fails')).catch(() => undefined);
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/^tilelog_entries_total 70$/m);
    expect(text).toMatch(/^tilelog_dedup_hits_total 1$/m);
    expect(text).toMatch(/^tilelog_pushback_total 10$/m);
    expect(text).toMatch(/^tilelog_commit_failures_total\{code="unavailable"\} 1$/m);
    expect(text).toMatch(/^tilelog_checkpoint_size 70$/m);
    expect(text).toMatch(/^tilelog_batch_size_count \d+$/m);
    expect(text).toMatch(/^tilelog_commit_seconds_bucket/m);
  });

  it('fails /healthz while submissions wait with no commit landing', async () => {
    const inner = new MemoryStore();
    let hang = false;
    const store = Object.assign(Object.create(inner), {
      commit: (c: Commit) => (hang ? new Promise<void>(() => {}) : inner.commit(c)),
    }) as MemoryStore;
    const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1 });
    const app = createApp(log, { stuckAfterMs: 50 });
    const ok = await app.request('/healthz');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^\{"status":"SERVING",/);
    hang = true;
    void log.add(utf8('never committed'));
    await new Promise((r) => setTimeout(r, 120));
    const r = await app.request('/healthz');
    expect(r.status).toBe(503);
    const body = await r.text();
    expect(body).toMatch(/^\{"status":"NOT_SERVING",/);
    expect(JSON.parse(body)).toMatchObject({ status: 'NOT_SERVING', size: 0, pending: 1 });
  });
});
