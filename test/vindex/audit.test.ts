// index verify (auditIndex) catches a map that hides an entry and names the revision; a client
// that saw the entry catches the hiding through the list's consistency proof; and a crash at
// every durable step of the indexer (before or after the write lands) recovers to the same map.
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { equal } from '../../src/bytes.ts';
import { TlogClient } from '../../src/client/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import type { LocalMap } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { auditIndex, Indexer, keyHash, mapEntry, verifyLookup } from '../../src/vindex/index.ts';
import {
  inputLog,
  inputVerifiers,
  OUTPUT_ORIGIN,
  outputSigner,
  outputVerifiers,
  populate,
  scan,
} from './fixture.ts';
import { memoryKv } from './helpers.ts';

function clientOf(log: Log) {
  const app = createApp(log);
  return new TlogClient({
    url: 'http://index.test/api/v2',
    verifiers: outputVerifiers,
    fetch: (async (u: string) => app.request(u)) as typeof fetch,
  });
}

const openOutput = (store = new MemoryStore()) =>
  Log.open(store, { origin: OUTPUT_ORIGIN, signer: outputSigner, maxAgeMs: 1 });

describe('index verify and hidden entries', () => {
  it('rebuilds an honest index to the same roots, and names the first revision hiding an entry', async () => {
    const input = await inputLog();
    await populate(input.app, input.log, 0, 120);
    const want = await scan(input.client());
    const [k, hits] = [...want].find(([k, v]) => k.startsWith('san:') && v.length > 3)!;
    const honestOut = await openOutput();
    const honest = await Indexer.open({ input: input.client(), output: honestOut, kv: memoryKv() });
    await honest.step();
    // The evil index maps everything but drops key k from one entry it saw (hits[1]).
    const evilOut = await openOutput();
    const bodies = new Map<number, Uint8Array>();
    for await (const e of input
      .client()
      .follow({ size: 0, levels: [], bundle: [] }, (await input.client().checkpoint()).checkpoint))
      bodies.set(e.index, e.entry);
    const victim = bodies.get(hits[1]!)!;
    const evil = await Indexer.open({
      input: input.client(),
      output: evilOut,
      kv: memoryKv(),
      mapFn: (e) => {
        const m = mapEntry(e);
        return equal(e, victim) ? { ...m, keys: m.keys.filter((x) => x !== k) } : m;
      },
    });
    await evil.step();
    await populate(input.app, input.log, 120, 30);
    await honest.step();
    await evil.step();
    const audit = (out: Log) =>
      auditIndex({
        output: clientOf(out),
        input: input.client(),
        inputVerifiers,
        scratch: memoryKv(),
        chunk: 64,
      });
    expect(await audit(honestOut)).toEqual({ revisions: 2 });
    const bad = await audit(evilOut);
    expect(bad.revisions).toBe(2);
    expect(bad.firstDiffering?.revision).toBe(0);
    expect(bad.firstDiffering?.inputSize).toBe(120);
    // A client that saw k's list from the honest index, then asks the evil one.
    const key = keyHash(k);
    const seen = verifyLookup(await honest.lookup(key), {
      key,
      outputVerifiers,
      inputVerifiers,
    });
    expect(seen.indices).toContain(hits[1]);
    const later = await evil.lookup(key, { since: seen.list.size });
    expect(() =>
      verifyLookup(later, { key, outputVerifiers, inputVerifiers, since: seen.list }),
    ).toThrow(/list/);
  });

  it('recovers from a crash at every durable step, before or after the write lands', async () => {
    const input = await inputLog();
    await populate(input.app, input.log, 0, 600);
    const ref = await Indexer.open({
      input: input.client(),
      output: await openOutput(),
      kv: memoryKv(),
      chunk: 256,
    });
    await ref.step();
    for (let failAt = 1; failAt <= 4; failAt++) {
      for (const lands of [false, true]) {
        const kv = memoryKv();
        let puts = 0;
        const crashing: LocalMap = {
          ...kv,
          put: async (entries, opts) => {
            if (++puts === failAt) {
              if (lands) await kv.put(entries, opts);
              throw new Error('crash');
            }
            return kv.put(entries, opts);
          },
        };
        const store = new MemoryStore();
        const ix = await Indexer.open({
          input: input.client(),
          output: await openOutput(store),
          kv: crashing,
          chunk: 256,
        });
        await expect(ix.step()).rejects.toThrow('crash');
        // Restart: reopen the output log from its store and the map from its LevelDB.
        const output = await openOutput(store);
        const again = await Indexer.open({ input: input.client(), output, kv, chunk: 256 });
        await again.step();
        expect(again.state.root, `${failAt} ${lands}`).toEqual(ref.state.root);
        expect(again.state.counts).toEqual(ref.state.counts);
        expect(output.state.checkpoint.size).toBe(1);
        const k = 'issuer:https://accounts.example.com';
        const v = verifyLookup(await again.lookup(keyHash(k)), {
          key: keyHash(k),
          outputVerifiers,
          inputVerifiers,
        });
        expect(v.indices.length).toBeGreaterThan(100);
      }
    }
  });
});
