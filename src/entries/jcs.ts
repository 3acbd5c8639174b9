/**
 * RFC 8785 JSON Canonicalization Scheme for the values tilelog puts in log entries: objects with
 * keys sorted by UTF-16 code units, arrays, strings, integers, booleans and null, no white space.
 * String escaping is ECMAScript's JSON.stringify, which is what RFC 8785 §3.2.2.2 specifies.
 */
import { assert } from '../errors.ts';

/** JsonValue is a JSON value tilelog can canonicalize. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** canonicalize returns the RFC 8785 serialization of v. */
export function canonicalize(v: JsonValue): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    // RFC 8785 §3.2.2.3 is ECMAScript number serialization; entries only hold safe integers.
    assert(Number.isSafeInteger(v), 'jcs: only safe integers');
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalize).join(',')}]`;
  const obj = v as { readonly [k: string]: JsonValue };
  const keys = Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(obj[k]!)}`).join(',')}}`;
}
