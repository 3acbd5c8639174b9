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
    if (pair[0] in out) throw badRequest(`${what}: field ${pair[0]} given twice`);
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

/** enumField reads an enum by its value name (numbers are refused: names are the wire form). */
export function enumField<T extends string>(v: unknown, what: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw badRequest(
      `${what} ${JSON.stringify(typeof v === 'string' ? v.slice(0, 60) : v)} is not one of ${allowed.join(', ')}`,
    );
  }
  return v as T;
}
