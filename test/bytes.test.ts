// u64be, putU64be and readU64be against a BigInt reference (DataView's 64-bit accessors); compare
// against Node's Buffer.compare.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { compare, putU64be, readU64be, u64be } from '../src/bytes.ts';

const reference = (b: Uint8Array, off: number) =>
  new DataView(b.buffer, b.byteOffset + off, 8).getBigUint64(0);

describe('u64be', () => {
  it('encodes every safe integer as DataView does, and reads it back', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const b = u64be(n);
        expect(reference(b, 0)).toBe(BigInt(n));
        expect(readU64be(b)).toBe(n);
      }),
    );
  });

  it('writes 8 bytes at an offset and nothing else', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.nat({ max: 8 }), (n, off) => {
        const b = new Uint8Array(16).fill(0xaa);
        putU64be(b, off, n);
        expect(reference(b, off)).toBe(BigInt(n));
        b.fill(0xaa, off, off + 8);
        expect(b.every((x) => x === 0xaa)).toBe(true);
      }),
    );
  });

  it('reads any 8 bytes at an offset as the reference, or null past 2^53 - 1', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 16 }), fc.nat(), (b, k) => {
        const off = k % (b.length - 7);
        const v = reference(b, off);
        expect(readU64be(b, off)).toBe(v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null);
        expect(readU64be(b.subarray(1), b.length - 8)).toBe(null); // too short
      }),
    );
    expect(readU64be(u64be(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(readU64be(Uint8Array.of(0, 0x20, 0, 0, 0, 0, 0, 0))).toBe(null); // 2^53
  });
});

describe('compare', () => {
  it('orders as Buffer.compare does', () => {
    // Short arrays over a small alphabet, so that equal prefixes and equal arrays are common.
    const bytes = fc.uint8Array({ maxLength: 6, max: 2 });
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        expect(Math.sign(compare(a, b))).toBe(Buffer.compare(a, b));
      }),
    );
  });
});
