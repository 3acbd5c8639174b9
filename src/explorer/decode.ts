/**
 * Decoding a Rekor v2 log entry for display (hashedrekord 0.0.2 and dsse 0.0.2, the canonical
 * JSON rekor-tiles logs). Every field is attacker-controlled: each is read as unknown and checked,
 * and what cannot be read is reported as a problem, never thrown. Pure: no DOM, no Node.
 */
import { decodeUtf8, fromBase64Lenient, toHex } from '../bytes.ts';
import { parseJsonExact } from '../json.ts';
import { type CertInfo, certInfo, spkiInfo } from './certinfo.ts';

/** DecodedVerifier is one signature's verifier: a public key or a certificate. */
export interface DecodedVerifier {
  readonly keyDetails: string | null;
  /** keyType and spkiSha256 describe the public key (of the certificate, if any). */
  readonly keyType: string | null;
  readonly spkiSha256: string | null;
  readonly certificate: CertInfo | null;
  readonly problem: string | null;
}

/** DecodedEntry is what the explorer shows of an entry. */
export interface DecodedEntry {
  readonly kind: string;
  readonly apiVersion: string;
  /** digest is the artifact digest (hashedrekord data; dsse payloadHash). */
  readonly digest: { readonly algorithm: string; readonly hex: string } | null;
  readonly signatures: readonly DecodedVerifier[];
  /** text is the body as UTF-8, or null when it is not. */
  readonly text: string | null;
  readonly problems: readonly string[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

const DIGESTS: Record<string, [string, number]> = {
  SHA2_256: ['sha256', 32],
  SHA2_384: ['sha384', 48],
  SHA2_512: ['sha512', 64],
};

function digestOf(v: unknown, problems: string[]): DecodedEntry['digest'] {
  const o = obj(v);
  const alg = DIGESTS[str(o?.algorithm) ?? ''];
  const d = str(o?.digest);
  const bytes = d === null ? null : fromBase64Lenient(d);
  if (!alg || !bytes || bytes.length !== alg[1]) {
    problems.push('the artifact digest is missing or malformed');
    return null;
  }
  return { algorithm: alg[0], hex: toHex(bytes) };
}

function rawBytes(o: Obj | null, field: string): Uint8Array | null {
  const s = str(obj(o?.[field])?.rawBytes);
  return s === null ? null : fromBase64Lenient(s);
}

/** decodeVerifier reads a Verifier message (publicKey or x509Certificate, and keyDetails). */
export function decodeVerifier(v: unknown): DecodedVerifier {
  const o = obj(v);
  const keyDetails = str(o?.keyDetails);
  const none = { keyDetails, keyType: null, spkiSha256: null, certificate: null };
  const spki = rawBytes(o, 'publicKey');
  if (spki) {
    const info = spkiInfo(spki);
    if (!info) return { ...none, problem: 'the public key does not parse' };
    return { ...none, ...info, problem: null };
  }
  const der = rawBytes(o, 'x509Certificate');
  if (!der) return { ...none, problem: 'neither a public key nor a certificate' };
  const cert = certInfo(der);
  if (!cert) return { ...none, problem: 'the certificate does not parse' };
  return {
    keyDetails,
    keyType: cert.keyType,
    spkiSha256: cert.spkiSha256,
    certificate: cert,
    problem: null,
  };
}

/** decodeEntry reads a logged entry's canonical body. */
export function decodeEntry(body: Uint8Array): DecodedEntry {
  const text = decodeUtf8(body);
  let json: unknown;
  try {
    json = text === null ? null : parseJsonExact(text);
  } catch {
    json = null;
  }
  const o = obj(json);
  const base = { text, digest: null, signatures: [] };
  if (!o) return { ...base, kind: '?', apiVersion: '?', problems: ['not a JSON object'] };
  const kind = str(o.kind) ?? '?';
  const apiVersion = str(o.apiVersion) ?? '?';
  const spec = obj(o.spec);
  const problems: string[] = [];
  if (kind === 'hashedrekord' && apiVersion === '0.0.2' && obj(spec?.hashedRekordV002)) {
    const h = obj(spec!.hashedRekordV002)!;
    const digest = digestOf(h.data, problems);
    const signatures = [decodeVerifier(obj(h.signature)?.verifier)];
    return { kind, apiVersion, text, digest, signatures, problems };
  }
  if (kind === 'dsse' && apiVersion === '0.0.2' && obj(spec?.dsseV002)) {
    const d = obj(spec!.dsseV002)!;
    const digest = digestOf(d.payloadHash, problems);
    const sigs = Array.isArray(d.signatures) ? (d.signatures as unknown[]) : [];
    if (sigs.length === 0) problems.push('no signatures');
    const signatures = sigs.map((s) => decodeVerifier(obj(s)?.verifier));
    return { kind, apiVersion, text, digest, signatures, problems };
  }
  return { ...base, kind, apiVersion, problems: [`not a known kind (${kind} ${apiVersion})`] };
}

/** summary is one line about an entry for lists: kind, digest and who signed. */
export function summary(e: DecodedEntry): { what: string; who: string } {
  const what = e.digest ? `${e.kind} ${e.digest.algorithm}:${e.digest.hex}` : e.kind;
  const s = e.signatures[0];
  const who = s?.certificate
    ? (s.certificate.sans[0] ?? s.certificate.subject)
    : s?.spkiSha256
      ? `key sha256:${s.spkiSha256}`
      : (s?.problem ?? e.problems[0] ?? '');
  return { what, who };
}
