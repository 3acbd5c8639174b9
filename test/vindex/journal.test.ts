// Commits in parts (store.ts, apply): a chunk applied in parts of a few keys, each part one
// batch, leaves exactly the records of one part in one batch; a crash at any of its writes
// leaves the map before the chunk, after it, or part-way, and then applying the same chunk again
// finishes it exactly as if nothing had happened, while the map refuses lookups; a store whose
// commit failed refuses work; only the keys the trie holds have their lists read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readU64be, toHex, u64be } from '../../src/bytes.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import { keyHash } from '../../src/vindex/index.ts';
import { EMPTY_STATE, type MapState, MapStore } from '../../src/vindex/store.ts';
import { memoryKv } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tilelog-vindex-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Entry i carries two keys of its own and one of eight shared ones (lists grow past a chunk).
const mapFn = (e: Uint8Array) => {
  const i = readU64be(e, 0)!;
  return { keys: [`own:${i}:a`, `own:${i}:b`, `shared:${i % 8}`], problems: [] };
};
const batch = (from: number, n: number) =>
  Array.from({ length: n }, (_, j) => ({ index: from + j, entry: u64be(from + j) }));
const SIZES = [300, 1, 700, 250];
const CRASH_SIZES = [300, 1, 20];

async function applyAll(map: MapStore, sizes: readonly number[], state = EMPTY_STATE) {
  let s: MapState = state;
  for (const n of sizes) {
    const size = s.edge.size + n;
    s = await map.apply(s, batch(s.edge.size, n), { ...s, edge: { ...s.edge, size } });
  }
  return s;
}

// The map's records, the progress record left out (empty once a chunk's parts are all applied).
const records = (data: Map<string, Uint8Array>) =>
  [...data]
    .filter(([k]) => k !== 'p')
    .map(([k, v]) => `${k}=${toHex(v)}`)
    .sort();

describe('commits in parts', () => {
  it('write the same records in parts as in one batch, on LevelDB, and survive reopening', async () => {
    const one = await openLocalMap(join(dir, 'one'));
    const small = await openLocalMap(join(dir, 'small'));
    const a = await applyAll(new MapStore(one, mapFn), SIZES);
    let puts = 0;
    const put = small.put;
    small.put = (w, o) => ((puts += 1), put(w, o));
    // Parts of 50 keys: a commit's keys are applied in many parts, their trie paths crossing.
    const b = await applyAll(new MapStore(small, mapFn, { part: 50 }), SIZES);
    expect(puts).toBeGreaterThan(4 * SIZES.length);
    expect(b).toEqual(a);
    const all = async (m: typeof one) =>
      new Map((await m.list('')).map(({ key, value }) => [key, value]));
    expect(records(await all(small))).toEqual(records(await all(one)));
    expect((await small.get('p'))!.length).toBe(0);
    await small.close();
    const reopened = await openLocalMap(join(dir, 'small'));
    const map = new MapStore(reopened, mapFn);
    expect(await map.state()).toEqual(a);
    const total = SIZES.reduce((x, y) => x + y);
    const shared3 = Array.from({ length: total }, (_, i) => i).filter((i) => i % 8 === 3).length;
    expect((await map.value(keyHash('shared:3'))).size).toBe(shared3);
    await reopened.close();
    await one.close();
  });

  it('finishes a chunk a crash interrupted at any write exactly as an uninterrupted one', async () => {
    const before = memoryKv();
    const s0 = await applyAll(new MapStore(before, mapFn), CRASH_SIZES.slice(0, 2));
    const after = memoryKv();
    const s1 = await applyAll(new MapStore(after, mapFn), CRASH_SIZES);
    let writes: number | undefined;
    const outcomes = { before: 0, partway: 0 };
    for (let crash = 1; ; crash++) {
      const kv = memoryKv();
      for (const [k, v] of before.data) kv.data.set(k, v);
      // The crash: the crash-th write of the commit and every later one never happen.
      let n = 0;
      const put = kv.put;
      kv.put = (w, o) => (++n >= crash ? Promise.reject(new Error('crash')) : put(w, o));
      const map = new MapStore(kv, mapFn, { part: 7 });
      const done = await applyAll(map, CRASH_SIZES.slice(2), s0).then(
        () => true,
        () => false,
      );
      if (done) {
        writes = n;
        break;
      }
      // The store whose commit failed refuses work until it is reopened.
      await expect(map.value(keyHash('shared:1'))).rejects.toMatchObject({ code: 'unavailable' });
      await expect(applyAll(map, [1], s0)).rejects.toMatchObject({ code: 'unavailable' });
      kv.put = put;
      const reopened = new MapStore(kv, mapFn, { part: 5 });
      const s = await reopened.state();
      // The durable state is the one before the chunk until its last part lands.
      expect(s).toEqual(s0);
      if (reopened.unfinished() === null) {
        outcomes.before++;
        expect(records(kv.data)).toEqual(records(before.data));
      } else {
        outcomes.partway++;
        expect(reopened.unfinished()).toBe(s1.edge.size);
        // Part-way, the map answers nothing, and only the same entries finish it.
        await expect(reopened.value(keyHash('shared:1'))).rejects.toMatchObject({
          code: 'unavailable',
        });
        await expect(applyAll(reopened, [CRASH_SIZES[2]! - 1], s)).rejects.toMatchObject({
          code: 'corrupt',
        });
      }
      // Applied again (in other parts), the chunk lands as if nothing had happened.
      expect(await applyAll(reopened, CRASH_SIZES.slice(2), s)).toEqual(s1);
      expect(reopened.unfinished()).toBeNull();
      expect(records(kv.data)).toEqual(records(after.data));
      expect((await reopened.value(keyHash('shared:1'))).size).toBeGreaterThan(0);
    }
    expect(writes ?? 0).toBeGreaterThan(5);
    expect(outcomes.before).toBe(1);
    expect(outcomes.partway).toBe((writes ?? 0) - 1);
  });

  it('finishes a journal an older version left decided', async () => {
    // Version 1 wrote `j/<n>` records (u16be(key length) ‖ key ‖ u32be(value length) ‖ value)
    // and decided them with `j` = u64be(record count); reopening replays them and empties it.
    const kv = memoryKv();
    const rec = new Uint8Array([0, 1, 120, 0, 0, 0, 2, 7, 9]);
    kv.data.set('j/00000000', rec);
    kv.data.set('j', u64be(1));
    await new MapStore(kv, mapFn).state();
    expect(kv.data.get('x')).toEqual(new Uint8Array([7, 9]));
    expect(kv.data.get('j')!.length).toBe(0);
  });
  it('reads the list records of the keys the trie holds only, and refuses a leaf without one', async () => {
    const kv = memoryKv();
    const asked: string[] = [];
    const getMany = kv.getMany;
    kv.getMany = (ids) => (asked.push(...ids), getMany(ids));
    const map = new MapStore(kv, mapFn, { part: 50 });
    const s = await applyAll(map, [300]);
    asked.length = 0;
    await applyAll(map, [20], s);
    // Of the 8 shared keys the map holds, each list is read; none of the 40 new keys' is.
    const lists = asked.filter((id) => id.startsWith('k/')).sort();
    const shared = Array.from({ length: 8 }, (_, i) => `k/${toHex(keyHash(`shared:${i}`))}`);
    expect(lists).toEqual(shared.sort());
    // A key the trie holds whose list record is gone: the map is corrupt, and nothing is written.
    const broken = memoryKv();
    const t = await applyAll(new MapStore(broken, mapFn), [300]);
    broken.data.delete(`k/${toHex(keyHash('shared:3'))}`);
    const before = records(broken.data);
    await expect(applyAll(new MapStore(broken, mapFn), [20], t)).rejects.toMatchObject({
      code: 'corrupt',
    });
    expect(records(broken.data)).toEqual(before);
  });
});
