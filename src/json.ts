/**
 * JSON from untrusted sources, read exactly. V8 in Node 24 and 25 (seen on 24.21.0 and 25.9.0;
 * 20 and 22 are not affected) misreads an object key written with an escape when the object's
 * map already has a transition whose key equals the key's raw text cut to its decoded length:
 * after any JSON.parse in the process has built {"p": 0, "\\": 1}, the key "\u0041" after p is
 * read as "\\". Those transitions are shared by every parse in the process, so one input can
 * change how a later one is read. Keys without escapes are read right; parseJsonExact therefore
 * reads a text in which each escaped key is a plain placeholder, and puts the keys back.
 */

/** JsonKey is one object key of a JSON text: decoded, and where its string literal is. */
export interface JsonKey {
  readonly key: string;
  /** start and end are the offsets of the literal's opening and closing quotes. */
  readonly start: number;
  readonly end: number;
  /** escaped: the literal has an escape, so its text is not the key. */
  readonly escaped: boolean;
}

/**
 * scanKeys calls visit for each object key of text, which JSON.parse must have accepted, in
 * document order, with the keys before it in the same object.
 */
export function scanKeys(
  text: string,
  visit: (k: JsonKey, seen: ReadonlySet<string>) => void,
): void {
  // One entry per open container: the keys seen so far (objects) or null (arrays).
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack.at(-1) != null;
    } else if (c === '"') {
      let j = i + 1;
      let escaped = false;
      while (text[j] !== '"') {
        escaped ||= text[j] === '\\';
        j += text[j] === '\\' ? 2 : 1;
      }
      if (expectKey) {
        // A string literal alone is not an object key: JSON.parse reads it right.
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        const seen = stack.at(-1)!;
        visit({ key, start: i, end: j, escaped }, seen);
        seen.add(key);
        expectKey = false;
      }
      i = j;
    }
  }
}

/**
 * parseJsonExact is JSON.parse(text) with every object key read as written; see above. A key
 * written with an escape that repeats another key of its object is a SyntaxError: which of the
 * two JSON.parse would keep depends on an order that the placeholders do not preserve (keys
 * that look like array indexes come first), and a document with repeated keys is ambiguous
 * anyway (RFC 8259 §4: names SHOULD be unique).
 */
export function parseJsonExact(text: string): unknown {
  const json: unknown = JSON.parse(text);
  if (!text.includes('\\')) return json;
  const keys: JsonKey[] = [];
  const escapedIn = new WeakMap<ReadonlySet<string>, Set<string>>();
  scanKeys(text, (k, seen) => {
    const escaped = escapedIn.get(seen) ?? new Set<string>();
    escapedIn.set(seen, escaped);
    if (seen.has(k.key) && (k.escaped || escaped.has(k.key)))
      throw new SyntaxError(`duplicate key ${JSON.stringify(k.key.slice(0, 60))}`);
    if (!k.escaped) return;
    escaped.add(k.key);
    keys.push(k);
  });
  if (keys.length === 0) return json;
  // A placeholder starts with a mark that the text does not contain, so no other key does.
  let mark = '@';
  while (text.includes(mark)) mark += '@';
  const parts: string[] = [];
  let copied = 0;
  keys.forEach((k, n) => {
    parts.push(text.slice(copied, k.start + 1), `${mark}${n}`);
    copied = k.end;
  });
  parts.push(text.slice(copied));
  return restore(JSON.parse(parts.join('')), mark, keys);
}

// restore puts the escaped keys back in place of their placeholders, keeping the key order.
function restore(v: unknown, mark: string, keys: readonly JsonKey[]): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => restore(x, mark, keys));
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const key = k.startsWith(mark) ? keys[Number(k.slice(mark.length))]!.key : k;
    // defineProperty, as JSON.parse does: "__proto__" is an own key, not the prototype. Two keys
    // equal once unescaped keep the first one's place and the last one's value, as JSON.parse.
    Object.defineProperty(out, key, {
      value: restore(o[k], mark, keys),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return out;
}
