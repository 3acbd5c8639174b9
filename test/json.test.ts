// parseJsonExact against a reference built from the generated tree (not JSON.parse, which Node 24
// and 25 get wrong for escaped keys), after inputs that leave V8 the map transitions that trip it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { parseJsonExact, scanKeys } from '../src/json.ts';
import { type JsonTree, jsonTree, treeValue, unescapeKey, writeTree } from './helpers/json-tree.ts';

// escapedRepeat: an object repeats a key and one of its occurrences is written with an escape.
const escapedRepeat = (n: JsonTree): boolean =>
  'leaf' in n
    ? false
    : 'items' in n
      ? n.items.some(escapedRepeat)
      : n.pairs.some(
          ([k], i) =>
            n.pairs.some(
              ([k2], j) => j !== i && unescapeKey(k2) === unescapeKey(k) && (k + k2).includes('\\'),
            ) || escapedRepeat(n.pairs[i]![1]),
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
    const node = jsonTree([
      ...['a', 'b', '\\u0061', '\\\\', '\\"', '\\n', '\\u00e9', 'é', '@', '@0', '\\u0040'],
      ...['\\\\a', 'a\\"', '__proto__', '\\u005f_proto__', '0', '\\u0031', '1'],
    ]);
    fc.assert(
      fc.property(node, node, (poison, n) => {
        JSON.parse(writeTree(poison)); // leaves transitions behind, as earlier inputs would
        if (escapedRepeat(n)) {
          expect(() => parseJsonExact(writeTree(n))).toThrow(SyntaxError);
          return;
        }
        const want = treeValue(n);
        const got = parseJsonExact(writeTree(n));
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
