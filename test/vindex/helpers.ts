// Test helpers for the verifiable index: an in-memory LocalMap and a naive reference trie that
// follows the README's definition of the map hash literally (recursion over sets of keys).
import { toHex } from '../../src/bytes.ts';
import type { LocalMap } from '../../src/storage/index.ts';
import { type MapValue } from '../../src/vindex/index.ts';
import {
  bitAt,
  EMPTY_MAP_ROOT,
  mapLeafHash,
  mapNodeHash,
  type TrieProof,
} from '../../src/vindex/trie.ts';

export function memoryKv(): LocalMap & { data: Map<string, Uint8Array> } {
  const data = new Map<string, Uint8Array>();
  return {
    data,
    get: async (k) => data.get(k) ?? null,
    getMany: async (ks) => ks.map((k) => data.get(k) ?? null),
    put: async (entries) => {
      for (const e of entries) data.set(e.key, e.value.slice());
    },
    close: async () => {},
  };
}

export type Entry = { key: Uint8Array; value: MapValue };

// lcp of a set: the first bit where some two keys differ.
function split(entries: readonly Entry[]): number {
  for (let b = 0; b < 256; b++) {
    const first = bitAt(entries[0]!.key, b);
    if (entries.some((e) => bitAt(e.key, b) !== first)) return b;
  }
  throw new Error('duplicate keys');
}

export function naiveRoot(entries: readonly Entry[]): Uint8Array {
  if (entries.length === 0) return EMPTY_MAP_ROOT;
  if (entries.length === 1) return mapLeafHash(entries[0]!.key, entries[0]!.value);
  const b = split(entries);
  const l = entries.filter((e) => bitAt(e.key, b) === 0);
  const r = entries.filter((e) => bitAt(e.key, b) === 1);
  return mapNodeHash(b, naiveRoot(l), naiveRoot(r));
}

// naiveProof walks down by the key's bits; once the key leaves the trie it goes left.
export function naiveProof(entries: readonly Entry[], key: Uint8Array): TrieProof {
  const steps: { bit: number; sibling: Uint8Array }[] = [];
  let set = entries;
  if (set.length === 0) return { steps, leaf: null };
  let off = false;
  while (set.length > 1) {
    const b = split(set);
    const sharesPrefix = Array.from({ length: b }, (_, i) => i).every(
      (i) => bitAt(key, i) === bitAt(set[0]!.key, i),
    );
    if (!sharesPrefix) off = true;
    const side = off ? 0 : bitAt(key, b);
    const mine = set.filter((e) => bitAt(e.key, b) === side);
    const other = set.filter((e) => bitAt(e.key, b) !== side);
    steps.push({ bit: b, sibling: naiveRoot(other) });
    set = mine;
  }
  return { steps, leaf: { key: set[0]!.key, value: set[0]!.value } };
}

export const hex = toHex;
