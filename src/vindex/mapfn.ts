/**
 * The map function for Rekor v2 entries: the keys under which an entry of the input log is
 * found. It is specified in the README ("The map function") precisely enough for another
 * implementation to rebuild the map byte for byte; this file is that text in code. A key is a
 * typed string (`digest:sha256:…`, `key:sha256:…`, `san:…`, `issuer:…`, `issuer-san:…`) and the
 * map is keyed by SHA-256 of its UTF-8 bytes. Entries are read as logged (canonical JSON, every
 * field attacker-controlled); what cannot be read maps to no key and is counted, never thrown.
 */
import { fromBase64, fromBase64Lenient, toHex, utf8 } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { parseJsonExact } from '../json.ts';
import type { Hash } from '../merkle/index.ts';
import { certificateNames } from './cert.ts';

/** Problem is why part of an entry yielded no key (counted in /metrics). */
export type Problem =
  | 'not_json' // the entry is not a JSON object
  | 'unknown_kind' // not hashedrekord 0.0.2 or dsse 0.0.2
  | 'bad_digest' // the artifact digest is missing, or its algorithm or length is unknown
  | 'bad_verifier' // a verifier with neither a readable public key nor certificate
  | 'bad_certificate' // a certificate (or its SAN or issuer extension) that cannot be read
  | 'no_san'; // a certificate without an indexed SAN (its issuer is still a key)

/** PROBLEMS lists every Problem, for metrics. */
export const PROBLEMS: readonly Problem[] = [
  'not_json',
  'unknown_kind',
  'bad_digest',
  'bad_verifier',
  'bad_certificate',
  'no_san',
];

/** Mapped is what the map function makes of one entry. */
export interface Mapped {
  /** keys are the typed key strings, each once, in the order first found. */
  readonly keys: readonly string[];
  readonly problems: readonly Problem[];
}

const DIGEST_ALGORITHMS: Record<string, [name: string, size: number]> = {
  SHA2_256: ['sha256', 32],
  SHA2_384: ['sha384', 48],
  SHA2_512: ['sha512', 64],
};

/** digestKey is the key of an artifact digest: `digest:<sha256|sha384|sha512>:<lowercase hex>`. */
export function digestKey(algorithm: string, digest: Uint8Array): string {
  return `digest:${algorithm}:${toHex(digest)}`;
}

/** publicKeyKey is the key of a public key: `key:sha256:<hex of SHA-256 of its DER SPKI>`. */
export function publicKeyKey(spki: Uint8Array): string {
  return `key:sha256:${toHex(sha256(spki))}`;
}

/** sanKey is the key of a SAN value of any type: `san:<value>`. */
export function sanKey(san: string): string {
  return `san:${san}`;
}

/** issuerKey is the key of an OIDC issuer: `issuer:<value>`. */
export function issuerKey(issuer: string): string {
  return `issuer:${issuer}`;
}

/**
 * issuerSanKey is the key of an (issuer, SAN) pair: `issuer-san:<L>:<issuer><san>`, where L is
 * the decimal length of the issuer in UTF-8 bytes, so that no two pairs share a key.
 */
export function issuerSanKey(issuer: string, san: string): string {
  return `issuer-san:${utf8(issuer).length}:${issuer}${san}`;
}

/** keyHash is the map key of a typed key string: SHA-256 of its UTF-8 bytes. */
export function keyHash(key: string): Hash {
  return sha256(utf8(key));
}

// Untrusted JSON is walked as unknown and checked field by field.
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

// Entries as logged carry canonical base64, which the strict decoder reads without the lenient
// one's rewriting; when it succeeds the lenient decoder returns the same bytes.
const base64 = (s: string) => fromBase64(s) ?? fromBase64Lenient(s);

function bytesAt(o: Obj | null, field: string): Uint8Array | null {
  const s = str(obj(o?.[field])?.rawBytes);
  return s === null ? null : base64(s);
}

function mapDigest(h: unknown, keys: string[], problems: Problem[]): void {
  const o = obj(h);
  const alg = DIGEST_ALGORITHMS[str(o?.algorithm) ?? ''];
  const d = str(o?.digest);
  const bytes = d === null ? null : base64(d);
  if (!alg || !bytes || bytes.length !== alg[1]) problems.push('bad_digest');
  else keys.push(digestKey(alg[0], bytes));
}

// One certificate or key signs many entries, so what a verifier maps to is remembered for the
// last VERIFIERS distinct ones, keyed by its two fields as logged; the answer is the same. A
// verifier with a certificate alone (every Fulcio entry) is keyed by the certificate's text in
// a map of its own; any other by both fields in another, so no two verifiers share a key.
const VERIFIERS = 4096;
type Verified = { keys: string[]; problems: Problem[] };
const byCert = new Map<string, Verified>();
const byFields = new Map<string, Verified>();

function remembered(cache: Map<string, Verified>, id: string, o: Obj | null): Verified {
  let m = cache.get(id);
  if (!m) {
    m = { keys: [], problems: [] };
    verifierKeys(o, m.keys, m.problems);
    if (cache.size >= VERIFIERS) cache.delete(cache.keys().next().value!);
    cache.set(id, m);
  }
  return m;
}

function mapVerifier(v: unknown, keys: string[], problems: Problem[]): void {
  const o = obj(v);
  const pk = str(obj(o?.publicKey)?.rawBytes);
  const cert = str(obj(o?.x509Certificate)?.rawBytes);
  // Joining a certificate's kilobyte of text into an id cost a copy of it for every entry.
  const m =
    pk === null && cert !== null
      ? remembered(byCert, cert, o)
      : remembered(
          byFields,
          `${pk === null ? '-' : `${pk.length}:${pk}`}${cert === null ? '-' : `+${cert}`}`,
          o,
        );
  for (const k of m.keys) keys.push(k);
  for (const p of m.problems) problems.push(p);
}

function verifierKeys(o: Obj | null, keys: string[], problems: Problem[]): void {
  const spki = bytesAt(o, 'publicKey');
  const der = bytesAt(o, 'x509Certificate');
  if (spki && spki.length > 0) {
    keys.push(publicKeyKey(spki));
    return;
  }
  if (!der || der.length === 0) {
    problems.push('bad_verifier');
    return;
  }
  const names = certificateNames(der);
  if (!names) {
    problems.push('bad_certificate');
    return;
  }
  if (names.sans.length === 0) problems.push('no_san');
  for (const s of names.sans) keys.push(sanKey(s));
  if (names.issuer === null) return;
  keys.push(issuerKey(names.issuer));
  for (const s of names.sans) keys.push(issuerSanKey(names.issuer, s));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function parse(entry: Uint8Array): unknown {
  try {
    return parseJsonExact(strictUtf8.decode(entry));
  } catch {
    return null;
  }
}

/**
 * mapEntry is the map function: the keys of a Rekor v2 entry (hashedrekord 0.0.2: data and
 * signature.verifier; dsse 0.0.2: payloadHash and every signatures[].verifier) and what could
 * not be read.
 */
export function mapEntry(entry: Uint8Array): Mapped {
  const body = obj(parse(entry));
  if (!body) return { keys: [], problems: ['not_json'] };
  const keys: string[] = [];
  const problems: Problem[] = [];
  const spec = obj(body.spec);
  const kind = `${str(body.kind)} ${str(body.apiVersion)}`;
  if (kind === 'hashedrekord 0.0.2' && obj(spec?.hashedRekordV002)) {
    const h = obj(spec!.hashedRekordV002)!;
    mapDigest(h.data, keys, problems);
    mapVerifier(obj(h.signature)?.verifier, keys, problems);
  } else if (kind === 'dsse 0.0.2' && obj(spec?.dsseV002)) {
    const d = obj(spec!.dsseV002)!;
    mapDigest(d.payloadHash, keys, problems);
    const sigs = Array.isArray(d.signatures) ? (d.signatures as unknown[]) : [];
    if (sigs.length === 0) problems.push('bad_verifier');
    for (const s of sigs) mapVerifier(obj(s)?.verifier, keys, problems);
  } else return { keys: [], problems: ['unknown_kind'] };
  return { keys: distinct(keys), problems: distinct(problems) };
}

// distinct is [...new Set(a)]: the first of equal elements, in order; a itself when they differ
// (an entry has a handful of keys, for which a scan costs less than a Set). The scan is
// quadratic, so a long list (a certificate with many SANs, crafted or not) takes the Set.
const SCAN_MAX = 16;
function distinct<T>(a: T[]): T[] {
  if (a.length > SCAN_MAX) return [...new Set(a)];
  for (let i = 1; i < a.length; i++) if (a.lastIndexOf(a[i]!, i - 1) !== -1) return [...new Set(a)];
  return a;
}
