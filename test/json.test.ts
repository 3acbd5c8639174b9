// parseJsonExact against a reference built from the generated tree (not JSON.parse, which Node 24
// and 25 get wrong for escaped keys), after inputs that leave V8 the map transitions that trip it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { parseJsonExact, scanKeys } from '../src/json.ts';

type Node = { pairs: [string, Node][] } | { items: Node[] } | { leaf: string | number | null };

const unescape = (k: string) => JSON.parse(`"${k}"`) as string;
const write = (n: Node): string =>
  'leaf' in n
    ? JSON.stringify(n.leaf)
    : 'items' in n
      ? `[${n.items.map(write).join(',')}]`
      : `{${n.pairs.map(([k, v]) => `"${k}":${write(v)}`).join(',')}}`;
// As JSON.parse builds objects: a repeated key keeps its first place and its last value.
const value = (n: Node): unknown => {
  if ('pairs' in n && escapedRepeat(n)) throw new SyntaxError('repeated');
  if ('leaf' in n) return n.leaf;
  if ('items' in n) return n.items.map(value);
  const out = {};
  for (const [k, v] of n.pairs)
    Object.defineProperty(out, unescape(k), {
      value: value(v),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  return out;
};

// escapedRepeat: an object repeats a key and one of its occurrences is written with an escape.
const escapedRepeat = (n: { pairs: [string, Node][] }) =>
  n.pairs.some(
    ([k], i) =>
      n.pairs.findIndex(([k2]) => unescape(k2) === unescape(k)) !== i &&
      n.pairs.some(
        ([k2]) => unescape(k2) === unescape(k) && (k.includes('\\') || k2.includes('\\')),
      ),
  );

describe('parseJsonExact', () => {
  it('reads an escaped key right after a body that leaves V8 a transition to "\\\\"', () => {
    for (let i = 0; i < 3; i++) JSON.parse('{"probe-json":0,"\\\\":1}');
    for (const [src, key] of [
      ['{"probe-json":0,"\\u0041":1}', 'A'],
      ['{"probe-json":0,"\\"":1}', '"'],
      ['{"probe-json":0,"\\n":1}', '\n'],
      ['{"probe-json":0,"\\\\":1}', '\\'],
    ] as const)
      expect(Object.keys(parseJsonExact(src) as object)).toEqual(['probe-json', key]);
  });

  it('keeps "__proto__" an own key, escaped or not, and leaves the prototype alone', () => {
    for (const src of ['{"\\u005f_proto__":{"x":1}}', '{"__proto__":{"x":1},"\\u0062":2}']) {
      const o = parseJsonExact(src) as Record<string, unknown>;
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      expect(Object.hasOwn(o, '__proto__')).toBe(true);
      expect(o['__proto__']).toEqual({ x: 1 });
    }
  });

  it('throws SyntaxError as JSON.parse does', () => {
    for (const bad of ['{"a":1,}', '{"\\u00":1}', '[1', '"\\x"'])
      expect(() => parseJsonExact(bad)).toThrow(SyntaxError);
  });

  it('agrees with the tree on random documents with escaped and repeated keys', () => {
    const key = fc.constantFrom(
      ...['a', 'b', '\\u0061', '\\\\', '\\"', '\\n', '\\u00e9', 'é', '@', '@0', '\\u0040'],
      ...['\\\\a', 'a\\"', '__proto__', '\\u005f_proto__', '0', '\\u0031', '1'],
    );
    const { node } = fc.letrec<{ node: Node }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ leaf: fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.constant(null)) }),
        fc.record({ pairs: fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }) }),
        fc.record({ items: fc.array(tie('node'), { maxLength: 3 }) }),
      ),
    }));
    fc.assert(
      fc.property(node, node, (poison, n) => {
        JSON.parse(write(poison)); // leaves transitions behind, as earlier inputs would
        let want: unknown;
        try {
          want = value(n);
        } catch {
          expect(() => parseJsonExact(write(n))).toThrow(SyntaxError);
          return;
        }
        const got = parseJsonExact(write(n));
        expect(got).toEqual(want);
        expect(JSON.stringify(got)).toBe(JSON.stringify(want)); // the key order too
      }),
      { numRuns: 3000 },
    );
  });

  it('scans keys in document order with the keys before them in their object', () => {
    const seen: string[] = [];
    scanKeys('{"a":{"b":[{"c":"d"}],"\\u0065":"f"},"g":"\\"h"}', ({ key, escaped }, before) =>
      seen.push(`${key}${escaped ? '*' : ''}<${[...before].join(',')}>`),
    );
    expect(seen).toEqual(['a<>', 'b<>', 'c<>', 'e*<b>', 'g<a>']);
  });
});
