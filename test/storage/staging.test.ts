// The S3 staging object: CBOR (cbor-x) round-trips, is read by an independent decoder's view of
// CBOR, rejects everything that is not canonical, and the pre-CBOR format is still read.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { concat, toHex, utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { decodeStaging, encodeStaging } from '../../src/storage/staging.ts';
import type { StoredObject } from '../../src/storage/storage.ts';

const objects = fc.array(
  fc.record({
    key: fc.string({ maxLength: 40 }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  }),
  { maxLength: 20 },
);

// The format before cbor-x: per object u16 key length, key, u8 kind, u32 length, value.
function legacy(objs: readonly StoredObject[]): Uint8Array {
  return concat(
    ...objs.flatMap((o) => {
      const k = utf8(o.key);
      const head = new Uint8Array(7);
      const dv = new DataView(head.buffer);
      dv.setUint16(0, k.length);
      head[2] = o.value === null ? 0 : 1;
      dv.setUint32(3, o.value?.length ?? 0);
      return [head.subarray(0, 2), k, head.subarray(2), o.value ?? new Uint8Array(0)];
    }),
  );
}

describe('staging object', () => {
  it('round-trips any list of objects', () => {
    fc.assert(
      fc.property(objects, (objs) => {
        const back = decodeStaging(encodeStaging(objs));
        expect(back.map((o) => [o.key, o.value && Array.from(o.value)])).toEqual(
          objs.map((o) => [o.key, o.value && Array.from(o.value)]),
        );
      }),
    );
  });

  it('is plain CBOR: an array of [text, bytes | null] pairs with no tags', () => {
    const b = encodeStaging([
      { key: 'a', value: Uint8Array.of(1, 2) },
      { key: 'b', value: null },
    ]);
    // 82 (array 2) 82 61 'a' 42 01 02 82 61 'b' f6 (null), RFC 8949 §3.
    expect(Array.from(b)).toEqual([0x82, 0x82, 0x61, 0x61, 0x42, 1, 2, 0x82, 0x61, 0x62, 0xf6]);
  });

  it('rejects non-canonical or mistyped CBOR with a corrupt error', () => {
    const cases = [
      [0x9f, 0xff], // indefinite-length array
      [0x98, 0x00], // non-minimal length head
      [0x81, 0x82, 0x61, 0x61, 0x41], // truncated
      [0x81, 0x82, 0x01, 0x40], // integer key
      [0x81, 0x83, 0x61, 0x61, 0x40, 0xf6], // triple
      [0x81, 0x82, 0x61, 0x61, 0x61, 0x62], // text value
      [0x81, 0x82, 0x61, 0x61, 0xd8, 0x40, 0x40], // tagged typed array
      [0x80, 0x80], // trailing item
      [0xa0], // a map
    ];
    for (const c of cases) {
      const err = (() => {
        try {
          decodeStaging(Uint8Array.from(c));
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, c.join(',')).toBeInstanceOf(LogError);
      expect((err as LogError).code).toBe('corrupt');
    }
  });

  it('never throws anything but a corrupt LogError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        let objs: StoredObject[];
        try {
          objs = decodeStaging(b);
        } catch (e) {
          expect(e).toBeInstanceOf(LogError);
          expect((e as LogError).code).toBe('corrupt');
          return;
        }
        // What parses as CBOR is canonical: it re-encodes to the same bytes (compared as hex:
        // the encoder's Buffer and the input's Uint8Array are not toEqual as objects).
        if (b.length > 0 && b[0]! >= 0x80) expect(toHex(encodeStaging(objs))).toBe(toHex(b));
      }),
      // The empty CBOR array, which random bytes reach about once in 3,000 runs.
      { examples: [[Uint8Array.of(0x80)]] },
    );
  });

  it('still reads a staging object written before cbor-x', () => {
    fc.assert(
      fc.property(objects, (objs) => {
        const back = decodeStaging(legacy(objs));
        expect(back.map((o) => [o.key, o.value && Array.from(o.value)])).toEqual(
          objs.map((o) => [o.key, o.value && Array.from(o.value)]),
        );
      }),
    );
  });
});
