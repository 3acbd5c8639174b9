/**
 * PKCS#11 URIs (RFC 7512): `pkcs11:` path attributes separated by ';' (which token, which
 * object), then optionally '?' and query attributes separated by '&' (which module, which PIN).
 * The parser is strict: it accepts only the attributes tilelog acts on, each at most once, and
 * only the canonical spelling, so that formatting what it parsed gives back the same string.
 * Canonical: values percent-encode exactly the characters RFC 7512 §2.3 does not allow literally
 * (as UTF-8, upper-case hex), except `id`, which is percent-encoded entirely, as §2.3 advises for
 * its binary value.
 */
import { decodeUtf8, utf8 } from '../bytes.ts';
import { badRequest } from '../errors.ts';

/** PATH_ATTRIBUTES are the path attributes tilelog supports, in RFC 7512 §2.3's order. */
export const PATH_ATTRIBUTES = [
  'token',
  'manufacturer',
  'serial',
  'model',
  'slot-id',
  'object',
  'type',
  'id',
] as const;

/** QUERY_ATTRIBUTES are the query attributes tilelog supports (RFC 7512 §2.3). */
export const QUERY_ATTRIBUTES = ['module-path', 'pin-source', 'pin-value'] as const;

type PathName = (typeof PATH_ATTRIBUTES)[number];
type QueryName = (typeof QUERY_ATTRIBUTES)[number];

/** Pkcs11Uri is a parsed PKCS#11 URI: each attribute's decoded value, in the order written. */
export interface Pkcs11Uri {
  readonly path: readonly (readonly [PathName, string])[];
  readonly query: readonly (readonly [QueryName, string])[];
  /** id is the decoded CKA_ID, when the URI names one. */
  readonly id?: Uint8Array;
}

// RFC 7512 §2.3: pk11-unreserved and pk11-res-avail, plus '&' in the path and '/', '?', '|' in
// the query. Everything else is percent-encoded.
const UNRESERVED = /[A-Za-z0-9\-._~:[\]@!$'()*+,=]/;
const PATH_EXTRA = /&/;
const QUERY_EXTRA = /[/?|]/;
const TYPES = ['public', 'private', 'cert', 'secret-key', 'data'];

/** isPkcs11Uri reports whether a key argument names a PKCS#11 object rather than a file. */
export function isPkcs11Uri(s: string): boolean {
  return s.startsWith('pkcs11:');
}

function hex2(b: number): string {
  return '%' + b.toString(16).toUpperCase().padStart(2, '0');
}

function encodeValue(value: string, inQuery: boolean): string {
  let out = '';
  for (const ch of value) {
    const literal = UNRESERVED.test(ch) || (inQuery ? QUERY_EXTRA : PATH_EXTRA).test(ch);
    out += literal ? ch : Array.from(utf8(ch), hex2).join('');
  }
  return out;
}

/** formatPkcs11Uri writes a URI in the canonical form parsePkcs11Uri accepts. */
export function formatPkcs11Uri(uri: Pkcs11Uri): string {
  const path = uri.path.map(([k, v]) =>
    k === 'id'
      ? `id=${Array.from(uri.id ?? new Uint8Array(), hex2).join('')}`
      : `${k}=${encodeValue(v, false)}`,
  );
  const query = uri.query.map(([k, v]) => `${k}=${encodeValue(v, true)}`);
  return `pkcs11:${path.join(';')}${query.length > 0 ? '?' + query.join('&') : ''}`;
}

// decodeBytes undoes percent-encoding, or returns null on a '%' not followed by two hex digits.
function decodeBytes(s: string): Uint8Array | null {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '%') {
      out.push(...utf8(s[i]!));
      continue;
    }
    const h = s.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(h)) return null;
    out.push(parseInt(h, 16));
    i += 2;
  }
  return Uint8Array.from(out);
}

function split<N extends string>(
  part: string,
  sep: string,
  names: readonly N[],
  where: string,
): [N, string][] {
  if (part === '') return [];
  const seen = new Set<string>();
  return part.split(sep).map((attr) => {
    const eq = attr.indexOf('=');
    const name = eq < 0 ? attr : attr.slice(0, eq);
    if (eq < 0) throw badRequest(`pkcs11 URI: ${where} attribute "${name}" has no "="`);
    if (!(names as readonly string[]).includes(name))
      throw badRequest(`pkcs11 URI: unsupported ${where} attribute "${name}"`);
    // RFC 7512 §2.3: an attribute MUST NOT appear more than once.
    if (seen.has(name)) throw badRequest(`pkcs11 URI: attribute "${name}" appears twice`);
    seen.add(name);
    return [name as N, attr.slice(eq + 1)];
  });
}

/**
 * parsePkcs11Uri parses a PKCS#11 URI strictly (see above) and throws a bad_request LogError
 * naming what is wrong. It does not check that a token or object exists.
 */
export function parsePkcs11Uri(s: string): Pkcs11Uri {
  if (!isPkcs11Uri(s)) throw badRequest('pkcs11 URI: does not start with "pkcs11:"');
  const rest = s.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const rawPath = split(q < 0 ? rest : rest.slice(0, q), ';', PATH_ATTRIBUTES, 'path');
  const rawQuery = q < 0 ? [] : split(rest.slice(q + 1), '&', QUERY_ATTRIBUTES, 'query');
  let id: Uint8Array | undefined;
  const decode = ([k, v]: [string, string]): string => {
    const bytes = decodeBytes(v);
    if (!bytes) throw badRequest(`pkcs11 URI: attribute "${k}" has a bad percent-encoding`);
    if (k === 'id') id = bytes;
    const text = decodeUtf8(bytes);
    if (k !== 'id' && (text === null || !text.isWellFormed()))
      throw badRequest(`pkcs11 URI: attribute "${k}" is not UTF-8`);
    return k === 'id' ? '' : text!;
  };
  const path = rawPath.map(([k, v]) => [k, decode([k, v])] as const);
  const query = rawQuery.map(([k, v]) => [k, decode([k, v])] as const);
  const uri: Pkcs11Uri = { path, query, ...(id ? { id } : {}) };
  checkValues(uri);
  if (formatPkcs11Uri(uri) !== s)
    throw badRequest(`pkcs11 URI: not in canonical form (write it as ${formatPkcs11Uri(uri)})`);
  return uri;
}

function checkValues(uri: Pkcs11Uri): void {
  const get = (k: string) => [...uri.path, ...uri.query].find(([n]) => n === k)?.[1];
  const type = get('type');
  if (type !== undefined && !TYPES.includes(type))
    throw badRequest(`pkcs11 URI: type "${type}" is not one of ${TYPES.join(', ')}`);
  const slot = get('slot-id');
  if (slot !== undefined && !/^(0|[1-9][0-9]{0,9})$/.test(slot))
    throw badRequest('pkcs11 URI: slot-id is not a decimal number');
  // RFC 7512 §2.3: pin-value and pin-source MUST NOT both be present.
  if (get('pin-value') !== undefined && get('pin-source') !== undefined)
    throw badRequest('pkcs11 URI: pin-value and pin-source cannot both be given');
}

/** uriAttribute returns the decoded value of one attribute of a parsed URI. */
export function uriAttribute(uri: Pkcs11Uri, name: PathName | QueryName): string | undefined {
  return [...uri.path, ...uri.query].find(([n]) => n === name)?.[1];
}

/**
 * pinSourcePath returns the file a `pin-source` names: `file:` and an absolute path (RFC 7512
 * §2.3 leaves other sources to the application; tilelog reads files only).
 */
export function pinSourcePath(source: string): string {
  const m = /^file:(?:\/\/)?(\/.*)$/.exec(source);
  if (!m) throw badRequest(`pkcs11 URI: pin-source ${source} is not file:/ABSOLUTE/PATH`);
  return m[1]!;
}
