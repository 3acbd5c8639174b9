// Per-key lists: the edge's root equals the RFC 6962 root, every page of every list up to 24
// verifies and every one-byte mangling of a page proof is refused, consistency proofs verify.
import { describe, expect, it } from 'vitest';

import { toHex, u64be } from '../../src/bytes.ts';
import { checkConsistency } from '../../src/merkle/index.ts';
import { keyHash } from '../../src/vindex/index.ts';
import {
  appendList,
  EMPTY_LIST,
  listConsistency,
  listRoot,
  pageProof,
  rangeHash,
  verifyPage,
} from '../../src/vindex/list.ts';
import { encodeChunk, encodeKeyRecord } from '../../src/vindex/lists.ts';
import { EMPTY_STATE, type MapState, MapStore } from '../../src/vindex/store.ts';
import { memoryKv } from './helpers.ts';
import { rfc6962Root } from './reference.ts';

describe('key lists', () => {
  it('checks every page of every list up to 24 and refuses every mangled proof', () => {
    let edge = EMPTY_LIST;
    const list: number[] = [];
    for (let n = 1; n <= 24; n++) {
      list.push(n * 4 + (n % 3)); // ascending, as lists are
      edge = appendList(edge, list[n - 1]!);
      const root = listRoot(edge);
      expect(root).toEqual(rfc6962Root(list));
      expect(rangeHash(list, 0, n)).toEqual(root);
      for (let s = 0; s < n; s++) {
        for (let e = s + 1; e <= n; e++) {
          const page = list.slice(s, e);
          const proof = pageProof(list, s, e);
          verifyPage(n, root, s, page, proof);
          expect(() => verifyPage(n, root, s + 1, page, proof)).toThrow();
          expect(() => verifyPage(n, root, s, page.slice(1), proof)).toThrow();
          if (n > 9) continue;
          proof.forEach((h, i) => {
            for (let b = 0; b < 32; b++) {
              const bad = proof.map((x) => x.slice());
              bad[i]![b]! ^= 1;
              expect(() => verifyPage(n, root, s, page, bad)).toThrow(/list root/);
            }
          });
          page.forEach((_, i) => {
            const bad = page.slice();
            bad[i]! += 1;
            expect(() => verifyPage(n, root, s, bad, proof)).toThrow(/list root/);
          });
        }
      }
      for (let m = 1; m < n; m++) {
        const old = listRoot(list.slice(0, m).reduce(appendList, EMPTY_LIST));
        checkConsistency(m, n, old, root, listConsistency(list, m));
      }
    }
  });

  it('has the empty root for the empty list and refuses pages of it', () => {
    verifyPage(0, listRoot(EMPTY_LIST), 0, [], []);
    expect(() => verifyPage(0, listRoot(EMPTY_LIST), 0, [1], [])).toThrow();
    expect(() => verifyPage(1, listRoot(appendList(EMPTY_LIST, 1)), 0, [], [])).toThrow();
  });

  it('reads pages and consistency proofs from stored chunks and subtrees as from the whole list', async () => {
    // Entry bytes name their key: "a" or "b". Batches of odd sizes cross chunk boundaries, so
    // lists resume mid-chunk; the proofs read from the store must equal those of the full list.
    const kv = memoryKv();
    const map = new MapStore(kv, (e) => ({ keys: [String.fromCharCode(e[0]!)], problems: [] }));
    let state: MapState = EMPTY_STATE;
    const list: number[] = [];
    let next = 0;
    let rnd = 7;
    const random = (n: number) => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) % n;
    for (const batch of [1, 255, 1, 300, 3, 1300]) {
      const entries = [];
      for (let i = 0; i < batch; i++, next++) {
        const a = random(5) !== 0;
        if (a) list.push(next);
        entries.push({ index: next, entry: Uint8Array.of(a ? 97 : 98) });
      }
      state = await map.apply(state, entries, { ...state, edge: { ...state.edge, size: next } });
      const key = keyHash('a');
      const n = list.length;
      expect((await map.value(key)).listRoot).toEqual(rfc6962Root(list));
      const cuts = [0, 1, 255, 256, 257, 512, 513, 1024, n - 1, n].filter((x) => x >= 0 && x <= n);
      for (const start of cuts)
        for (const end of cuts) {
          if (end <= start) continue;
          const got = await map.listProof(key, n, start, end, start || undefined);
          expect(got.indices).toEqual(list.slice(start, end));
          expect(got.pageProof).toEqual(pageProof(list, start, end));
          expect(got.consistency).toEqual(start ? listConsistency(list, start) : []);
        }
    }
    // Only the chunks a page needs are read: a missing far chunk does not matter, a near one does.
    const key = keyHash('a');
    let read = 0;
    const getMany = kv.getMany;
    kv.getMany = (keys) => ((read += keys.length), getMany(keys));
    await map.listProof(key, list.length, 700, 710, 600);
    expect(read).toBeLessThanOrEqual(2 * Math.log2(list.length) + 4);
    kv.data.delete(`l/${toHex(key)}/00000000`);
    await map.listProof(key, list.length, list.length - 10, list.length);
    await expect(map.listProof(key, list.length, 0, 10)).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('stores a new key with one index as a list grown any other way stores it', async () => {
    // Entries 'x' carry the key; others a key of their own. A holds x's list as [5] first (a new
    // key with one index), B as [5, 9] first; both then grow to [5, 9, 12].
    const mapFn = (e: Uint8Array) => ({ keys: [String.fromCharCode(...e)], problems: [] });
    const x = toHex(keyHash('x'));
    const records = (kv: ReturnType<typeof memoryKv>) =>
      [`k/${x}`, `l/${x}/00000000`].map((k) => toHex(kv.data.get(k) ?? new Uint8Array()));
    const grow = async (steps: number[][]) => {
      const kv = memoryKv();
      const map = new MapStore(kv, mapFn);
      let state: MapState = EMPTY_STATE;
      const seen: string[][] = [];
      for (const xs of steps) {
        const entries = [];
        for (let i = state.edge.size; i <= Math.max(...xs); i++)
          entries.push({ index: i, entry: xs.includes(i) ? Uint8Array.of(120) : u64be(i) });
        const edge = { ...state.edge, size: state.edge.size + entries.length };
        state = await map.apply(state, entries, { ...state, edge });
        seen.push(records(kv));
      }
      return { seen, root: state.root, value: await map.value(keyHash('x')) };
    };
    const a = await grow([[5], [9, 12]]);
    const b = await grow([[5, 9], [12]]);
    expect(a.seen[0]).toEqual([
      toHex(encodeKeyRecord(appendList(EMPTY_LIST, 5))),
      toHex(encodeChunk([5])),
    ]);
    expect(a.seen[1]).toEqual(b.seen[1]);
    expect(a.root).toEqual(b.root);
    expect(a.value).toEqual({ size: 3, listRoot: rfc6962Root([5, 9, 12]) });
  });
});
