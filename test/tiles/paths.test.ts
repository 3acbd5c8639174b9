import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { LogError } from '../../src/errors.ts';
import {
  bundleForIndex,
  decodeBundle,
  encodeBundle,
  ENTRIES,
  parseTilePath,
  tilePath,
} from '../../src/tiles/index.ts';
import { formatIndex, tileWidth } from '../../src/tiles/tile.ts';

const V = JSON.parse(
  readFileSync('spec-vectors/transparency-dev-tessera/tile_path_vectors.json', 'utf8'),
);

describe('tlog-tiles paths (tessera vectors)', () => {
  it('formats entry bundle paths for an index in a log size', () => {
    for (const v of V.entriesPathForLogIndex) {
      expect(tilePath(bundleForIndex(v.seq, v.logSize))).toBe(v.want);
    }
  });

  it('formats entry bundle and tile paths', () => {
    for (const v of V.entriesPath) {
      expect(tilePath({ level: ENTRIES, n: v.N, width: v.p || 256 })).toBe(v.want);
    }
    for (const v of V.tilePath) {
      expect(tilePath({ level: v.level, n: v.index, width: v.p || 256 })).toBe(v.want);
    }
  });

  it('parses every valid level/index/partial and rejects every invalid one', () => {
    for (const v of V.parseTileLevelIndexPartial.valid) {
      const path = `tile/${v.level}/${v.index}`;
      if (!Number.isSafeInteger(v.wantIndex)) {
        // Indexes past 2^53 name tiles of trees far larger than a log can hold: we refuse them.
        expect(() => parseTilePath(path)).toThrow(/out of range/);
        continue;
      }
      expect(parseTilePath(path)).toEqual({
        level: v.wantLevel,
        n: v.wantIndex,
        width: v.wantP || 256,
      });
    }
    for (const [level, index] of V.parseTileLevelIndexPartial.invalid) {
      expect(() => parseTilePath(`tile/${level}/${index}`)).toThrow(LogError);
    }
  });

  it('rejects non-canonical paths', () => {
    for (const p of [
      'tile/0/x000/001',
      'tile/00/000',
      'tile/0/000.p/0',
      'tile/0/000.p/256',
      'tile/0/000.p/007',
      'tile/entries/000.p/',
      'tile/0/000/',
      '/tile/0/000',
      'tile/0/0000',
      'tile/entries/x1/000',
      'tile/0/000.p/1/',
      'tile//000',
      'tile/-0/000',
      'tile/1/x001/x002',
      'tile/entries/000.p/256',
    ]) {
      expect(() => parseTilePath(p), p).toThrow(LogError);
    }
  });

  it('encodes N in groups of three digits', () => {
    expect(formatIndex(0)).toBe('000');
    expect(formatIndex(1234067)).toBe('x001/x234/067');
    expect(formatIndex(1000)).toBe('x001/000');
  });

  it('round-trips every tile it formats, and rejects any string that does not round-trip', () => {
    const tile = fc.record({
      level: fc.integer({ min: -1, max: 63 }),
      n: fc.maxSafeNat(),
      width: fc.integer({ min: 1, max: 256 }),
    });
    fc.assert(
      fc.property(tile, (t) => {
        expect(parseTilePath(tilePath(t))).toEqual(t);
      }),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'tile/entries0123456789x.p'), maxLength: 30 }),
        (s) => {
          let t;
          try {
            t = parseTilePath(s);
          } catch (e) {
            expect(e).toBeInstanceOf(LogError);
            return;
          }
          expect(tilePath(t)).toBe(s);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('computes partial widths as floor(s / 256^L) mod 256 (tlog-tiles example, size 70000)', () => {
    expect(tileWidth(0, 273, 70000)).toBe(112);
    expect(tileWidth(0, 272, 70000)).toBe(256);
    expect(tileWidth(1, 1, 70000)).toBe(17);
    expect(tileWidth(1, 0, 70000)).toBe(256);
    expect(tileWidth(2, 0, 70000)).toBe(1);
    expect(tileWidth(0, 274, 70000)).toBe(0);
    expect(tileWidth(1, 0, 256)).toBe(1);
  });
});

describe('entry bundles', () => {
  it('round-trips any entries of up to 65535 bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 256 }), (entries) => {
        expect(decodeBundle(encodeBundle(entries), entries.length)).toEqual(entries);
      }),
    );
    const big = new Uint8Array(65535).fill(7);
    expect(decodeBundle(encodeBundle([big]))[0]).toEqual(big);
  });

  it('refuses an entry over 65535 bytes', () => {
    expect(() => encodeBundle([new Uint8Array(65536)])).toThrow(/over 65535/);
  });

  it('rejects truncated bundles, trailing bytes and wrong counts', () => {
    const b = encodeBundle([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    expect(() => decodeBundle(b.subarray(0, b.length - 1))).toThrow(LogError);
    expect(() => decodeBundle(Uint8Array.of(...b, 0))).toThrow(LogError);
    expect(() => decodeBundle(b, 3)).toThrow(LogError);
    expect(() =>
      decodeBundle(encodeBundle(Array.from({ length: 257 }, () => new Uint8Array(0)))),
    ).toThrow(LogError);
  });

  it('never crashes on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        try {
          const entries = decodeBundle(b);
          expect(encodeBundle(entries)).toEqual(b);
        } catch (e) {
          expect(e).toBeInstanceOf(LogError);
        }
      }),
    );
  });
});

describe('narrowTile', () => {
  it('cuts bundles and hash tiles to a prefix, and refuses a hash tile of the wrong length', async () => {
    const { narrowTile } = await import('../../src/tiles/bundle.ts');
    const entries = [Uint8Array.of(1), Uint8Array.of(2, 3), new Uint8Array(0), Uint8Array.of(4)];
    const bundle = encodeBundle(entries);
    for (let w = 1; w <= 4; w++) {
      expect(narrowTile({ level: ENTRIES, n: 0, width: 4 }, bundle, w)).toEqual(
        encodeBundle(entries.slice(0, w)),
      );
    }
    const tile = new Uint8Array(96).map((_, i) => i);
    expect(narrowTile({ level: 0, n: 0, width: 3 }, tile, 2)).toEqual(tile.subarray(0, 64));
    expect(() => narrowTile({ level: 1, n: 0, width: 4 }, tile, 2)).toThrow(LogError);
  });
});
