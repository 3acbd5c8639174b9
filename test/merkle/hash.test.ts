import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { toHex } from '../../src/bytes.ts';
import { balancedRootInto, HASH_SIZE, leafHash, leafHashInto } from '../../src/merkle/index.ts';
import { mth, refLeaf } from '../reference/rfc6962.ts';

describe('balancedRootInto', () => {
  it('writes the RFC 6962 root of 2^k leaf hashes, whatever sizes came before', () => {
    // Sizes out of order: the scratch grows (4 -> 512) and is reused smaller with stale contents.
    for (const n of [1, 4, 512, 2, 256, 8, 512, 128]) {
      const entries = Array.from({ length: n }, () => new Uint8Array(randomBytes(1 + (n % 7))));
      // The bottom at an odd offset of a larger buffer, as a subarray of a tile could be.
      const backing = new Uint8Array(3 + n * HASH_SIZE + 5).fill(0xee);
      const bottom = backing.subarray(3, 3 + n * HASH_SIZE);
      entries.forEach((e, i) => bottom.set(refLeaf(e), i * HASH_SIZE));
      const before = backing.slice();
      const out = new Uint8Array(2 * HASH_SIZE + 1).fill(0xaa);
      balancedRootInto(bottom, out, 17);
      expect(toHex(out.subarray(17, 17 + HASH_SIZE)), `n=${n}`).toBe(toHex(mth(entries)));
      expect(out.subarray(0, 17).every((b) => b === 0xaa)).toBe(true);
      expect(out.subarray(17 + HASH_SIZE).every((b) => b === 0xaa)).toBe(true);
      expect(backing).toEqual(before); // the bottom nodes are read, never written
    }
  });

  it('refuses a bottom that is not 2^k hashes', () => {
    expect(() => balancedRootInto(new Uint8Array(3 * HASH_SIZE), new Uint8Array(32), 0)).toThrow();
  });
});

describe('leafHash and leafHashInto', () => {
  it('hash 0x00 ‖ entry for any length, in any order of lengths', () => {
    // Lengths that reuse a cached view, pass the scratch's size (4,096) and grow it, then reuse
    // views made before it grew: each must hash its own bytes, not a stale buffer's.
    const lengths = [0, 1, 1024, 1, 1024, 4096, 4097, 9000, 1024, 0, 17, 4096];
    for (const n of lengths) {
      const e = new Uint8Array(randomBytes(n));
      const want = toHex(refLeaf(e));
      expect(toHex(leafHash(e)), `leafHash n=${n}`).toBe(want);
      const out = new Uint8Array(40).fill(0xaa);
      leafHashInto(e, out, 5);
      expect(toHex(out.subarray(5, 37)), `leafHashInto n=${n}`).toBe(want);
      expect([...out.subarray(0, 5), ...out.subarray(37)].every((b) => b === 0xaa)).toBe(true);
    }
  });
});
