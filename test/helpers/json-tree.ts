// Random JSON documents as trees whose objects are key/value pair lists, so that keys can repeat
// and be written with escapes; the expected value is built from the tree, not by JSON.parse
// (which Node 24 and 25 get wrong for escaped keys: src/json.ts).
import fc from 'fast-check';

/** JsonTree is a document: an object as its pairs (keys as written), an array, or a leaf. */
export type JsonTree =
  { pairs: [string, JsonTree][] } | { items: JsonTree[] } | { leaf: string | number | null };

/** jsonTree generates documents whose object keys are drawn from keys (as written in JSON). */
export function jsonTree(keys: readonly string[]): fc.Arbitrary<JsonTree> {
  const key = fc.constantFrom(...keys);
  return fc.letrec<{ node: JsonTree }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ leaf: fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.constant(null)) }),
      fc.record({ pairs: fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }) }),
      fc.record({ items: fc.array(tie('node'), { maxLength: 3 }) }),
    ),
  })).node;
}

/** unescapeKey is the key a JSON key literal's text stands for. */
export const unescapeKey = (k: string) => JSON.parse(`"${k}"`) as string;

/** writeTree writes the document as JSON text, with some whitespace around separators. */
export const writeTree = (n: JsonTree): string =>
  'leaf' in n
    ? JSON.stringify(n.leaf)
    : 'items' in n
      ? `[${n.items.map(writeTree).join(',')}]`
      : `{${n.pairs.map(([k, v]) => `"${k}" : ${writeTree(v)}`).join(' ,')}}`;

/** hasRepeatedKey: some object of the document has a key twice (after unescaping). */
export const hasRepeatedKey = (n: JsonTree): boolean =>
  'leaf' in n
    ? false
    : 'items' in n
      ? n.items.some(hasRepeatedKey)
      : new Set(n.pairs.map(([k]) => unescapeKey(k))).size !== n.pairs.length ||
        n.pairs.some(([, v]) => hasRepeatedKey(v));

/**
 * treeValue is the value JSON.parse should build: a repeated key keeps its first place and its
 * last value, and "__proto__" is an own key.
 */
export function treeValue(n: JsonTree): unknown {
  if ('leaf' in n) return n.leaf;
  if ('items' in n) return n.items.map(treeValue);
  const out = {};
  for (const [k, v] of n.pairs)
    Object.defineProperty(out, unescapeKey(k), {
      value: treeValue(v),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  return out;
}
