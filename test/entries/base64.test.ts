// toBase64 (src/bytes.ts) formats every answer's bytes fields (Rekor entries, proofs). On Node it
// is Buffer's base64; browsers get toBase64Portable, which must equal Buffer's base64 for every
// length and content and round-trip through fromBase64.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fromBase64, toBase64, toBase64Portable } from '../../src/bytes.ts';

const nodeBase64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('toBase64Portable', () => {
  it("equals Node's base64 for every length up to 300, and round-trips", () => {
    for (let n = 0; n <= 300; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n * 7) & 255);
      expect(toBase64Portable(b), String(n)).toBe(nodeBase64(b));
      expect(fromBase64(toBase64Portable(b))).toEqual(b);
    }
  });

  it("equals Node's base64 for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => {
        expect(toBase64Portable(b)).toBe(nodeBase64(b));
      }),
    );
  });
});

describe('toBase64', () => {
  it('encodes only the bytes of a view, wherever it lies in its buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(600), fc.nat(600), (b, x, y) => {
        const [from, to] = [Math.min(x, y, b.length), Math.min(Math.max(x, y), b.length)];
        const view = b.subarray(from, to);
        expect(toBase64(view)).toBe(toBase64Portable(view));
        expect(fromBase64(toBase64(view))).toEqual(view);
      }),
    );
  });
});
