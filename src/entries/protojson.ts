/**
 * Strict reading of protojson input (Go's protojson.Unmarshal with DiscardUnknown false): each
 * field by its lowerCamelCase JSON name or its proto name, unknown fields rejected, bytes as
 * standard or URL-safe base64 with or without padding, enums by name. Errors name the field.
 */
import { fromBase64Lenient } from '../bytes.ts';
import { badRequest } from '../errors.ts';
import { parseJsonExact, scanKeys } from '../json.ts';

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

// One decoder for every request: decode() without { stream: true } starts afresh each call, and
// making a TextDecoder costs more than decoding a request.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * parseJson parses a protojson request body: UTF-8 JSON in which no object has a key twice.
 * JSON.parse keeps the last of duplicate keys; Go's protojson refuses a field given twice, and
 * so does this, naming the key (two values for one field are an ambiguity an attacker can use).
 * Keys are read as written on every Node version (src/json.ts).
 */
export function parseJson(raw: Uint8Array): unknown {
  let text: string;
  let json: unknown;
  try {
    text = UTF8.decode(raw);
    json = parseJsonExact(text);
  } catch (e) {
    throw badRequest(`malformed JSON: ${e instanceof SyntaxError ? e.message : 'invalid UTF-8'}`);
  }
  scanKeys(text, ({ key }, seen) => {
    if (seen.has(key))
      throw badRequest(`malformed JSON: duplicate key ${JSON.stringify(key.slice(0, 60))}`);
  });
  return json;
}
