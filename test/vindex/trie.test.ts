// The prefix trie against a naive reference: every subset of a small key domain, built in one
// batch and in several, every proof equal to the reference's, every one-byte mangling rejected.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { equal } from '../../src/bytes.ts';
import { type MapValue } from '../../src/vindex/index.ts';
import { type Child, proveKey, updateTrie } from '../../src/vindex/nodes.ts';
import {
  EMPTY_MAP_ROOT,
  rootFromTrieProof,
  type TrieProof,
  verifyTrieProof,
} from '../../src/vindex/trie.ts';
import { type Entry, naiveProof, naiveRoot } from './helpers.ts';

function key(bytes: Record<number, number>): Uint8Array {
  const k = new Uint8Array(32);
  for (const [i, v] of Object.entries(bytes)) k[Number(i)] = v;
  return k;
}

// Keys that branch at bits 0, 1, 7, 16, 255 and share long prefixes.
const DOMAIN = [
  key({}),
  key({ 0: 0x80 }),
  key({ 0: 0x40 }),
  key({ 0: 0x41 }),
  key({ 31: 0x01 }),
  key({ 0: 0xff, 31: 0xff }),
  key({ 0: 0x40, 2: 0x80 }),
];
const PROBES = [
  ...DOMAIN,
  key({ 0: 0x20 }),
  key({ 0: 0x40, 2: 0x40 }),
  key({ 0: 0xc0 }),
  key({ 31: 2 }),
];

function value(seed: number): MapValue {
  const listRoot = new Uint8Array(32).fill(seed & 255);
  listRoot[0] = seed >> 8;
  return { size: 1 + (seed % 7), listRoot };
}

class Trie {
  readonly nodes = new Map<string, Uint8Array>();
  root: Child | null = null;
  src = async (id: string) => this.nodes.get(id) ?? null;
  async put(entries: readonly Entry[]): Promise<void> {
    const leaves = entries.map((e) => ({
      key: e.key,
      hash: naiveRoot([e]),
    }));
    this.root = await updateTrie(this.src, this.root, leaves, (id, n) => this.nodes.set(id, n));
  }
  get hash(): Uint8Array {
    return this.root?.hash ?? EMPTY_MAP_ROOT;
  }
}

async function proofOf(t: Trie, entries: readonly Entry[], k: Uint8Array): Promise<TrieProof> {
  const p = await proveKey(t.src, t.root, k);
  if (!p.leaf) return { steps: p.steps, leaf: null };
  const e = entries.find((e) => equal(e.key, p.leaf!.key))!;
  return { steps: p.steps, leaf: { key: p.leaf.key, value: e.value } };
}

// serialize and mangle: every byte of the proof's fields, one at a time.
function manglings(p: TrieProof): TrieProof[] {
  const out: TrieProof[] = [];
  p.steps.forEach((s, i) => {
    const with_ = (step: { bit: number; sibling: Uint8Array }) =>
      out.push({ ...p, steps: p.steps.map((x, j) => (j === i ? step : x)) });
    for (const d of [-1, 1]) with_({ bit: s.bit + d, sibling: s.sibling });
    for (let b = 0; b < 32; b++) {
      const sib = s.sibling.slice();
      sib[b]! ^= 1 << (b % 8);
      with_({ bit: s.bit, sibling: sib });
    }
    out.push({ ...p, steps: p.steps.filter((_, j) => j !== i) });
  });
  if (p.leaf) {
    const { key: k, value: v } = p.leaf;
    for (let b = 0; b < 32; b++) {
      const k2 = k.slice();
      k2[b]! ^= 0x80 >> (b % 8);
      out.push({ ...p, leaf: { key: k2, value: v } });
      const r2 = v.listRoot.slice();
      r2[b]! ^= 1;
      out.push({ ...p, leaf: { key: k, value: { ...v, listRoot: r2 } } });
    }
    out.push({ ...p, leaf: { key: k, value: { ...v, size: v.size + 1 } } });
    out.push({ ...p, leaf: null, steps: [] });
  }
  return out;
}

describe('prefix trie', () => {
  it('matches the naive reference on every subset, in one batch or several, with sound proofs', async () => {
    let checked = 0;
    for (let mask = 0; mask < 1 << DOMAIN.length; mask++) {
      const entries = DOMAIN.filter((_, i) => mask & (1 << i)).map((k, i) => ({
        key: k,
        value: value(mask * 8 + i),
      }));
      const one = new Trie();
      await one.put(entries);
      expect(one.hash).toEqual(naiveRoot(entries));
      // One key at a time, each first with a stale value that a later batch replaces.
      const many = new Trie();
      for (const e of entries) await many.put([{ key: e.key, value: value(999) }]);
      for (let i = 0; i < entries.length; i += 2) await many.put(entries.slice(i, i + 2));
      expect(many.hash).toEqual(naiveRoot(entries));
      for (const k of PROBES) {
        const p = await proofOf(one, entries, k);
        const ref = naiveProof(entries, k);
        expect(p).toEqual(ref);
        const member = entries.find((e) => equal(e.key, k));
        expect(verifyTrieProof(one.hash, k, p)).toEqual(member ? member.value : null);
        // Manglings for a spread of subsets (all of them take minutes on a shared machine).
        for (const m of mask % 9 === 0 ? manglings(p) : []) {
          let claim: MapValue | null | 'rejected';
          try {
            claim = verifyTrieProof(one.hash, k, m);
          } catch {
            claim = 'rejected';
          }
          expect(claim).toBe('rejected');
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(5_000);
  });

  it('rejects a sibling leaf offered as proof of absence', () => {
    const a = key({ 0: 0x00 });
    const b = key({ 0: 0x80 });
    const entries = [
      { key: a, value: value(1) },
      { key: b, value: value(2) },
    ];
    const root = naiveRoot(entries);
    // The proof for b, offered for c, which differs from b at bit 0 (the branching bit): c could
    // be a's sibling... c = 0x80…01 shares b's path, so a proof via a must be refused for it.
    const pa = naiveProof(entries, a);
    const c = key({ 0: 0x80, 31: 1 });
    expect(() => verifyTrieProof(root, c, pa)).toThrow(/sibling/);
    expect(verifyTrieProof(root, c, naiveProof(entries, c))).toBeNull();
  });

  it('agrees with the reference on random key sets built in random batches (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
          maxLength: 40,
          selector: (k) => k.join(),
        }),
        fc.array(fc.nat(40), { maxLength: 5 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        async (keys, cuts, probe) => {
          const entries = keys.map((k, i) => ({ key: k, value: value(i + 1) }));
          const t = new Trie();
          const bounds = [0, ...cuts.sort((x, y) => x - y), entries.length];
          for (let i = 1; i < bounds.length; i++)
            await t.put(entries.slice(bounds[i - 1], Math.max(bounds[i - 1]!, bounds[i]!)));
          expect(t.hash).toEqual(naiveRoot(entries));
          for (const k of [probe, ...keys.slice(0, 3)]) {
            const p = await proofOf(t, entries, k);
            expect(rootFromTrieProof(p)).toEqual(t.hash);
            const member = entries.find((e) => equal(e.key, k));
            expect(verifyTrieProof(t.hash, k, p)).toEqual(member ? member.value : null);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
