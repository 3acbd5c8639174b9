/**
 * Strict reading of protojson input (Go's protojson.Unmarshal with DiscardUnknown false): each
 * field by its lowerCamelCase JSON name or its proto name, unknown fields rejected, bytes as
 * standard or URL-safe base64 with or without padding, enums by name. Errors name the field.
 */
import { fromBase64Lenient } from '../bytes.ts';
import { badRequest } from '../errors.ts';

/** Obj is a JSON object as parsed from untrusted input. */
export type Obj = Record<string, unknown>;

/** asObject returns v as an object, or throws naming what. */
export function asObject(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw badRequest(`${what} must be an object`);
  return v as Obj;
}

/**
 * fields reads an object whose allowed fields are given as [jsonName, protoName] pairs. It
 * rejects unknown fields and a field given under both names, and returns values by JSON name.
 */
export function fields(
  v: unknown,
  what: string,
  names: readonly (readonly [string, string])[],
): Obj {
  const o = asObject(v, what);
  const out: Obj = {};
  for (const key of Object.keys(o)) {
    const pair = names.find(([json, proto]) => key === json || key === proto);
    if (!pair) throw badRequest(`${what}: unknown field ${JSON.stringify(key.slice(0, 60))}`);
    if (Object.hasOwn(out, pair[0])) throw badRequest(`${what}: field ${pair[0]} given twice`);
    // protojson treats an explicit null as the field being absent.
    if (o[key] !== null) out[pair[0]] = o[key];
  }
  return out;
}

/** bytesField decodes a protojson bytes field: std or URL-safe base64, padding optional. */
export function bytesField(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw badRequest(`${what} must be a base64 string`);
  const out = fromBase64Lenient(v);
  if (!out) throw badRequest(`${what} is not base64`);
  return out;
}

/**
 * parseJson parses a protojson request body: UTF-8 JSON in which no object has a key twice.
 * JSON.parse keeps the last of duplicate keys; Go's protojson refuses a field given twice, and
 * so does this, naming the key (two values for one field are an ambiguity an attacker can use).
 *
 * Keys written with escapes are read from a rewritten text with the keys unescaped: V8 in
 * Node 24 (seen on 24.21.0) misreads an escaped object key when the object's map already has
 * a transition whose key equals the key's raw text cut to its decoded length (after a body
 * with the key "\\", the key "\u0041" is read as "\\"), and such transitions are shared by
 * every JSON.parse in the process. A key that needs an escape even so ('"', '\\' or a
 * control character) names no protojson field, so it is refused here as unknown.
 */
export function parseJson(raw: Uint8Array): unknown {
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    json = JSON.parse(text);
  } catch (e) {
    throw badRequest(`malformed JSON: ${e instanceof SyntaxError ? e.message : 'invalid UTF-8'}`);
  }
  const plain = checkKeys(text);
  return plain === text ? json : JSON.parse(plain);
}

/** plainKey: JSON can write the key without an escape (no '"', '\\' or control character). */
const plainKey = (key: string) => JSON.stringify(key).length === key.length + 2;

/**
 * checkKeys scans text that JSON.parse accepted. It refuses the first key that appears twice in
 * one object (compared after unescaping, as JSON.parse compares them) and any key that cannot be
 * written without an escape, and returns the text with every escaped key written plainly (the
 * same text when no key has an escape).
 */
export function checkKeys(text: string): string {
  // One entry per open container: the keys seen so far (objects) or null (arrays).
  const stack: (Set<string> | null)[] = [];
  const parts: string[] = [];
  let copied = 0;
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
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        const seen = stack.at(-1)!;
        if (seen.has(key)) throw badRequest(`malformed JSON: duplicate key ${quote(key)}`);
        if (escaped && !plainKey(key)) throw badRequest(`unknown field ${quote(key)}`);
        if (escaped) {
          parts.push(text.slice(copied, i + 1), key);
          copied = j;
        }
        seen.add(key);
        expectKey = false;
      }
      i = j;
    }
  }
  return copied === 0 ? text : parts.join('') + text.slice(copied);
}

const quote = (key: string) => JSON.stringify(key.slice(0, 60));
