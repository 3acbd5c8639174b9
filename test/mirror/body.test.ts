// The tlog-mirror wire formats (src/mirror/body.ts): round trips, strictness and truncation as
// fast-check properties, the canonical package sequence against the spec's formula over a small
// domain, and the streamed parser against the whole-buffer one over random chunkings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { concat } from '../../src/bytes.ts';
import {
  type AddEntriesHeader,
  type EntryPackage,
  formatHeader,
  formatMirrorInfo,
  formatPackage,
  MAX_PACKAGE_PROOF,
  packageRanges,
  parseAll,
  parseHeader,
  parseMirrorInfo,
  parsePackage,
} from '../../src/mirror/body.ts';
import { ByteReader } from '../../src/mirror/index.ts';
import { runParser } from '../../src/mirror/stream.ts';

const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const header: fc.Arbitrary<AddEntriesHeader> = fc
  .record({
    origin: fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }),
    a: safe,
    b: safe,
    ticket: fc.uint8Array({ maxLength: 300 }),
  })
  .map(({ origin, a, b, ticket }) => ({
    origin,
    start: Math.min(a, b),
    end: Math.max(a, b),
    ticket,
  }));
const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
// A package range of the canonical sequence, and a package for it.
const pkg = fc
  .record({
    base: fc.nat(1000).map((n) => n * 256),
    lo: fc.nat(255),
    w: fc.integer({ min: 1, max: 256 }),
  })
  .chain(({ base, lo, w }) => {
    const start = base + Math.min(lo, w - 1);
    const r = { base, start, end: base + w };
    const p: fc.Arbitrary<EntryPackage> = fc.record({
      entries: fc.array(fc.uint8Array({ maxLength: 40 }), {
        minLength: r.end - r.start,
        maxLength: r.end - r.start,
      }),
      proof: fc.array(hash, { maxLength: MAX_PACKAGE_PROOF }),
    });
    return p.map((p) => ({ r, p }));
  });

describe('add-entries header', () => {
  it('parses what it formats, and nothing more', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 8 }), (h, tail) => {
        const bytes = concat(formatHeader(h), tail);
        const { value, offset } = parseAll(parseHeader(), bytes);
        expect(value).toEqual(h);
        expect(offset).toBe(bytes.length - tail.length);
      }),
    );
  });

  it('refuses every truncation with a one-line reason', () => {
    fc.assert(
      fc.property(header, fc.nat(), (h, cut) => {
        const bytes = formatHeader(h);
        const { value } = parseAll(parseHeader(), bytes.subarray(0, cut % bytes.length));
        expect(typeof value).toBe('string');
        expect(value).not.toMatch(/\n/);
      }),
    );
  });

  it('parses any bytes to a header that formats back to them, or to a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const { value, offset } = parseAll(parseHeader(), bytes);
        if (typeof value === 'string') return;
        expect(formatHeader(value)).toEqual(bytes.subarray(0, offset));
      }),
    );
  });

  it('refuses an empty origin, invalid UTF-8, start above end and sizes above 2^53', () => {
    const h = { origin: 'o', start: 1, end: 2, ticket: new Uint8Array(0) };
    const bytes = formatHeader(h);
    const bad = (b: Uint8Array) => parseAll(parseHeader(), b).value;
    expect(bad(concat(Uint8Array.of(0, 0), bytes.subarray(3)))).toMatch(/empty/);
    const notUtf8 = bytes.slice();
    notUtf8[2] = 0xff;
    expect(bad(notUtf8)).toMatch(/UTF-8/);
    expect(bad(formatHeader({ ...h, start: 3 }))).toMatch(/above upload_end/);
    const huge = bytes.slice();
    huge[3 + 8] = 0xff; // upload_end's top byte
    expect(bad(huge)).toMatch(/2\^53/);
  });
});

describe('entry packages', () => {
  it('parse what they format, and refuse every truncation', () => {
    fc.assert(
      fc.property(pkg, fc.nat(), ({ r, p }, cut) => {
        const bytes = formatPackage(p);
        const { value, offset } = parseAll(parsePackage(r), bytes);
        expect(value).toEqual(p);
        expect(offset).toBe(bytes.length);
        const short = parseAll(parsePackage(r), bytes.subarray(0, cut % bytes.length)).value;
        expect(short).toMatch(/^the body ends inside/);
      }),
    );
  });

  it('parse any bytes to a package that formats back to them, or to a reason', () => {
    fc.assert(
      fc.property(fc.nat(4), fc.uint8Array({ maxLength: 200 }), (w, bytes) => {
        const r = { base: 0, start: 0, end: w + 1 };
        const { value, offset } = parseAll(parsePackage(r), bytes);
        if (typeof value === 'string') return;
        expect(formatPackage(value)).toEqual(bytes.subarray(0, offset));
      }),
    );
  });

  it('refuse a proof of more than 63 hashes', () => {
    const bytes = concat(Uint8Array.of(0, 1, 7, 64), new Uint8Array(64 * 32));
    expect(parseAll(parsePackage({ base: 0, start: 0, end: 1 }), bytes).value).toMatch(/over 63/);
  });

  it('follow the canonical sequence: aligned at 256, contiguous, covering [start, end)', () => {
    // tlog-mirror's formula, for every start ≤ end below 1,100.
    for (let start = 0; start < 1100; start += 7)
      for (let end = start; end < 1100; end += 13) {
        const got = packageRanges(start, end);
        if (start === end) {
          expect(got).toEqual([]);
          continue;
        }
        const rs = Math.floor(start / 256) * 256;
        const re = Math.ceil(end / 256) * 256;
        const want = Array.from({ length: (re - rs) / 256 }, (_, i) => ({
          base: rs + i * 256,
          start: Math.max(start, rs + i * 256),
          end: Math.min(end, rs + (i + 1) * 256),
        }));
        expect(got).toEqual(want);
      }
  });
});

describe('streamed parsing', () => {
  it('gives what the whole-buffer parser gives, however the body is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(header, pkg, fc.array(fc.nat(50)), async (h, { r, p }, cuts) => {
        const bytes = concat(formatHeader(h), formatPackage(p));
        const chunks: Uint8Array[] = [];
        let off = 0;
        for (const c of cuts) {
          chunks.push(bytes.subarray(off, Math.min(bytes.length, off + c)));
          off = Math.min(bytes.length, off + c);
        }
        chunks.push(bytes.subarray(off));
        const reader = new ByteReader(
          (async function* () {
            yield* chunks;
          })(),
        );
        expect(await runParser(parseHeader(), reader)).toEqual(h);
        expect(await runParser(parsePackage(r), reader)).toEqual(p);
        expect(await reader.atEnd()).toBe(true);
      }),
    );
  });
});

describe('mirror-info', () => {
  it('parses what it formats', () => {
    fc.assert(
      fc.property(safe, safe, fc.uint8Array({ maxLength: 100 }), (size, next, ticket) => {
        const m = { size, next, ticket };
        expect(parseMirrorInfo(formatMirrorInfo(m))).toEqual(m);
      }),
    );
  });

  it('accepts only text that formats back unchanged', () => {
    const line = fc.oneof(fc.string({ maxLength: 12 }), fc.nat().map(String), fc.constant('0'));
    fc.assert(
      fc.property(fc.array(line, { minLength: 0, maxLength: 4 }), fc.boolean(), (ls, nl) => {
        const text = ls.join('\n') + (nl ? '\n' : '');
        const m = parseMirrorInfo(text);
        if (typeof m !== 'string') expect(formatMirrorInfo(m)).toBe(text);
      }),
    );
    for (const bad of ['1\n2\n', '01\n2\n\n', '1\n2\n\n\n', '1\r\n2\n\n', '1\n2\n!!\n'])
      expect(typeof parseMirrorInfo(bad)).toBe('string');
  });
});
