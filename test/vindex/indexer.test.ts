// The indexer end to end over a real in-process Rekor log: every key's hits equal a plain scan,
// every answer verifies, absent keys verify as absent, revisions follow the input, and bad
// input stops the indexer without a revision.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fromBase64 } from '../../src/bytes.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import { Indexer, keyHash, type MapValue, verifyLookup } from '../../src/vindex/index.ts';
import { type LookupAnswer } from '../../src/vindex/lookup.ts';
import { parseRevision } from '../../src/vindex/revision.ts';
import { inputLog, inputVerifiers, outputLog, outputVerifiers, populate, scan } from './fixture.ts';
import { memoryKv } from './helpers.ts';

const verify = (a: LookupAnswer, key: string, since?: MapValue) =>
  verifyLookup(JSON.parse(JSON.stringify(a)), {
    key: keyHash(key),
    outputVerifiers,
    inputVerifiers,
    since,
  });

describe('indexer', () => {
  it('finishes a chunk a crash cut between its parts by reading it again, as the input grew', async () => {
    const input = await inputLog();
    await populate(input.app, input.log, 0, 600);
    const output = await outputLog();
    const kv = memoryKv();
    const put = kv.put;
    let puts = 0;
    // The crash: the map's 10th batch and every later one fail. In chunks of 512 entries and
    // parts of 40 keys, the first chunk takes 8 batches and the second ([512, 600)) three.
    kv.put = (w, o) => (++puts >= 10 ? Promise.reject(new Error('crash')) : put(w, o));
    const opts = { input: input.client(), output, kv, chunk: 512, part: 40 };
    const first = await Indexer.open(opts);
    await expect(first.step()).rejects.toThrow('crash');
    kv.put = put;
    await populate(input.app, input.log, 600, 300);
    const ix = await Indexer.open(opts);
    expect(ix.state.edge.size).toBe(512);
    expect(kv.data.get('p')?.length).toBeGreaterThan(0);
    await expect(ix.lookup(keyHash('san:nobody@example.com'))).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(await ix.step()).toBe(true);
    expect(ix.state.edge.size).toBe(900);
    for (const [k, indices] of await scan(input.client()))
      expect(verify(await ix.lookup(keyHash(k)), k).indices, k).toEqual(indices);
  });

  it('indexes a Rekor log in chunks and answers every key exactly as a plain scan', async () => {
    const input = await inputLog();
    await populate(input.app, input.log, 0, 700);
    const output = await outputLog();
    const kv = await openLocalMap(mkdtempSync(join(tmpdir(), 'tilelog-vindex-')));
    const progress: number[] = [];
    const ix = await Indexer.open({
      input: input.client(),
      output,
      kv,
      chunk: 256,
      events: { progress: (d) => progress.push(d) },
    });
    expect(await ix.step()).toBe(true);
    expect(progress).toEqual([256, 512, 700]);
    expect(await ix.step()).toBe(false);
    expect(output.state.checkpoint.size).toBe(1);
    const want = await scan(input.client());
    expect([...want.keys()].some((k) => k.startsWith('issuer-san:'))).toBe(true);
    expect([...want.keys()].some((k) => k.startsWith('key:'))).toBe(true);
    for (const [k, indices] of want) {
      const v = verify(await ix.lookup(keyHash(k)), k);
      expect(v.indices, k).toEqual(indices);
      expect(v.list.size).toBe(indices.length);
      expect(v.input.checkpoint.size).toBe(700);
    }
    for (const k of ['san:nobody@example.com', 'digest:sha256:' + '00'.repeat(32)]) {
      const v = verify(await ix.lookup(keyHash(k)), k);
      expect(v.indices).toEqual([]);
      expect(v.list.size).toBe(0);
    }
    expect(ix.state.counts.entries).toBe(700);
    expect(ix.state.counts.unmapped).toBe(140);
    expect(ix.state.counts.problems.no_san).toBe(84); // identity 4 has no SAN: 28 rows of 3
    expect(ix.state.counts.keys).toBe(want.size);
    await kv.close();
  });

  it('appends one revision per input checkpoint, and lists extend consistently', async () => {
    const input = await inputLog();
    const output = await outputLog();
    const ix = await Indexer.open({ input: input.client(), output, kv: memoryKv() });
    expect(await ix.step()).toBe(true); // the empty input log is revision 0
    const none = verify(await ix.lookup(keyHash('san:alice@example.com')), 'san:alice@example.com');
    expect(none.indices).toEqual([]);
    let seen: MapValue | undefined;
    for (let round = 0; round < 3; round++) {
      await populate(input.app, input.log, round * 100, 100);
      expect(await ix.step()).toBe(true);
      const k = 'san:alice@example.com';
      const a = await ix.lookup(keyHash(k), { since: seen?.size });
      const v = verify(a, k, seen);
      expect(v.revisionIndex).toBe(round + 1);
      expect(v.indices).toEqual((await scan(input.client())).get(k));
      seen = v.list;
      // The revision leaf covers the input checkpoint it names.
      expect(parseRevision(fromBase64(a.revision.leaf)!).inputNote).toBe(input.log.state.note);
    }
    expect(output.state.checkpoint.size).toBe(4);
  });

  it('pages a long list, each page with its own proof', async () => {
    const input = await inputLog();
    await populate(input.app, input.log, 0, 300);
    const ix = await Indexer.open({
      input: input.client(),
      output: await outputLog(),
      kv: memoryKv(),
    });
    await ix.step();
    const k = 'issuer:https://accounts.example.com';
    const all = (await scan(input.client())).get(k)!;
    expect(all.length).toBeGreaterThan(50);
    const got: number[] = [];
    for (let start = 0; start < all.length; start += 17) {
      const v = verify(await ix.lookup(keyHash(k), { start, limit: 17 }), k);
      expect(v.start).toBe(start);
      got.push(...v.indices);
    }
    expect(got).toEqual(all);
    await expect(ix.lookup(keyHash(k), { start: all.length })).rejects.toMatchObject({
      code: 'bad_request',
    });
  });

  it('stops on a bundle that does not hash to the checkpoint, and on a split view', async () => {
    const input = await inputLog();
    await populate(input.app, input.log, 0, 50);
    const output = await outputLog();
    const kv = memoryKv();
    const evil = input.client((path, body) => {
      if (!path.includes('/tile/entries/')) return body;
      const b = body.slice();
      b[b.length - 1]! ^= 1;
      return b;
    });
    const bad = await Indexer.open({ input: evil, output, kv });
    await expect(bad.step()).rejects.toMatchObject({ code: 'corrupt' });
    expect(output.state.checkpoint.size).toBe(0);
    expect(kv.data.size).toBe(0);
    const ix = await Indexer.open({ input: input.client(), output, kv });
    await ix.step();
    // A fork with the same key: consistent in size, different entries.
    const fork = await inputLog();
    await populate(fork.app, fork.log, 1000, 60);
    const forked = await Indexer.open({ input: fork.client(), output, kv });
    await expect(forked.step()).rejects.toMatchObject({ code: 'corrupt' });
    expect(output.state.checkpoint.size).toBe(1);
  });
});
