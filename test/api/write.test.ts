// addAnswer writes POST add's answer as bytes without JSON.stringify, keeping the last note's
// JSON: it must be the UTF-8 of JSON.stringify for any index, note and proof, call after call.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { addAnswer } from '../../src/api/write.ts';
import { toBase64 } from '../../src/bytes.ts';

const stringify = (index: number, note: string, hashes: Uint8Array[]) =>
  JSON.stringify({ index: String(index), checkpoint: note, hashes: hashes.map(toBase64) });
const text = (index: number, note: string, hashes: Uint8Array[]) =>
  new TextDecoder('utf-8', { fatal: true }).decode(addAnswer(index, note, hashes));

// A note is any text: signature lines start with an em dash, origins may hold quotes.
const answer = fc.record({
  index: fc.maxSafeNat(),
  note: fc.oneof(
    fc.constantFrom('a\n1\nAAAA\n\n\u2014 a AAAA\n', ''),
    fc.string({ unit: 'binary' }),
  ),
  hashes: fc.array(
    fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 40 })),
    { maxLength: 40 },
  ),
});

describe('addAnswer', () => {
  it('is JSON.stringify of the answer, for any sequence of answers', () => {
    // Sequences, so that the kept note is reused for the same note and replaced for another.
    fc.assert(
      fc.property(fc.array(answer, { minLength: 1, maxLength: 8 }), (as) =>
        as.every((a) => text(a.index, a.note, a.hashes) === stringify(a.index, a.note, a.hashes)),
      ),
    );
  });

  it('is JSON.stringify of the answer for proofs of 32-byte hashes, up to 64 of them', () => {
    // The usual case, which moves one base64 run into place: every count, so every overlap.
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 64 }),
        (index, hashes) =>
          text(index, 'o\n2\nAAAA\n', hashes) === stringify(index, 'o\n2\nAAAA\n', hashes),
      ),
    );
  });

  it('writes hashes that are views into a larger buffer as their own bytes', () => {
    const big = new Uint8Array(96).map((_, i) => i);
    const hashes = [big.subarray(32, 64), big.subarray(64)];
    expect(text(7, 'n\n', hashes)).toBe(stringify(7, 'n\n', hashes));
    expect(JSON.parse(text(7, 'n\n', []))).toEqual({ index: '7', checkpoint: 'n\n', hashes: [] });
  });
});
