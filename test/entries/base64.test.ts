// toBase64 (src/bytes.ts) formats every answer's bytes fields (Rekor entries, proofs): it must
// equal Node's base64 for every length and content, and round-trip through fromBase64.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fromBase64, toBase64 } from '../../src/bytes.ts';

describe('toBase64', () => {
  it("equals Node's base64 for every length up to 300, and round-trips", () => {
    for (let n = 0; n <= 300; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n * 7) & 255);
      expect(toBase64(b), String(n)).toBe(Buffer.from(b).toString('base64'));
      expect(fromBase64(toBase64(b))).toEqual(b);
    }
  });

  it("equals Node's base64 for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => {
        expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
      }),
    );
  });
});
