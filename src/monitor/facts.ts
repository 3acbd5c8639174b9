/**
 * What the monitor reads from a Rekor v2 entry (hashedrekord 0.0.2, dsse 0.0.2) to match rules:
 * the digest, every verifier's key, and for a certificate its subject, its SANs, its OIDC issuer
 * (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the older 1.1) and every extension's value, plus
 * the fingerprints rekor-monitor uses (hex SHA-256 of the DER SPKI and of the DER certificate).
 * Entries are untrusted: anything unreadable is left out, never thrown.
 */
import { createHash, X509Certificate } from 'node:crypto';

import { fromBase64, toBase64 } from '../bytes.ts';
import { parseCertificate } from '../verify/index.ts';

/** CertFacts is what the monitor reads from one certificate. */
export interface CertFacts {
  readonly subject: string;
  readonly sans: readonly string[];
  readonly issuer?: string;
  /** extensions maps a dotted OID to the extension's value as text (see extensionText). */
  readonly extensions: ReadonlyMap<string, string>;
}

/** EntrySummary is what the monitor knows of a Rekor entry. */
export interface EntrySummary {
  readonly kind: string;
  /** digest is the artifact's (or DSSE payload's) digest, base64. */
  readonly digest?: string;
  /** publicKeys are the verifiers' DER SPKIs, base64 (a certificate's key included). */
  readonly publicKeys: string[];
  readonly subjects: string[];
  readonly sans: string[];
  /** fingerprints are hex SHA-256 of every DER SPKI and DER certificate. */
  readonly fingerprints: string[];
  readonly certificates: CertFacts[];
}

// Fulcio's OIDC issuer: 1.8 is a DER UTF8String, 1.1 (deprecated) the raw bytes.
const ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const FULCIO_V1_RAW = /^1\.3\.6\.1\.4\.1\.57264\.1\.[1-6]$/;

const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function empty(kind = 'unknown'): EntrySummary {
  return { kind, publicKeys: [], subjects: [], sans: [], fingerprints: [], certificates: [] };
}

/** summarize parses a Rekor v2 entry body; other bodies yield kind "unknown". */
export function summarize(entry: Uint8Array): EntrySummary {
  // Untrusted JSON, walked with optional chaining and checked field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let body: any;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entry));
  } catch {
    return empty();
  }
  const kind = `${body?.kind} ${body?.apiVersion}`;
  let digest: unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let verifiers: any[];
  if (kind === 'hashedrekord 0.0.2') {
    digest = body.spec?.hashedRekordV002?.data?.digest;
    verifiers = [body.spec?.hashedRekordV002?.signature?.verifier];
  } else if (kind === 'dsse 0.0.2') {
    digest = body.spec?.dsseV002?.payloadHash?.digest;
    const sigs = body.spec?.dsseV002?.signatures;
    verifiers = Array.isArray(sigs)
      ? sigs.map((s: { verifier?: unknown } | null) => s?.verifier)
      : [];
  } else return empty(typeof body?.kind === 'string' ? kind : 'unknown');
  const s: EntrySummary = { ...empty(kind), ...(typeof digest === 'string' ? { digest } : {}) };
  for (const v of verifiers) {
    const key =
      typeof v?.publicKey?.rawBytes === 'string' ? fromBase64(v.publicKey.rawBytes) : null;
    if (key) {
      s.publicKeys.push(toBase64(key));
      s.fingerprints.push(sha256hex(key));
    }
    const der =
      typeof v?.x509Certificate?.rawBytes === 'string'
        ? fromBase64(v.x509Certificate.rawBytes)
        : null;
    if (der) readCertificate(der, s);
  }
  return s;
}

function readCertificate(der: Uint8Array, s: EntrySummary): void {
  let cert: X509Certificate;
  let parsed: ReturnType<typeof parseCertificate>;
  try {
    cert = new X509Certificate(der);
    parsed = parseCertificate(der);
  } catch {
    return; // Not a certificate we can read: the entry is still reported by its other fields.
  }
  s.publicKeys.push(toBase64(parsed.spki));
  s.fingerprints.push(sha256hex(parsed.spki), sha256hex(der));
  s.subjects.push(cert.subject);
  const extensions = new Map<string, string>();
  let sans: string[] = [];
  for (const e of parsed.extensions) {
    if (e.oid === '2.5.29.17') sans = generalNames(e.value);
    const text = extensionText(e.oid, e.value);
    if (text !== null) extensions.set(e.oid, text);
  }
  s.sans.push(...sans);
  const issuer = extensions.get(ISSUER_V2) ?? extensions.get(ISSUER_V1);
  s.certificates.push({
    subject: cert.subject,
    sans,
    ...(issuer !== undefined ? { issuer } : {}),
    extensions,
  });
}

/**
 * extensionText is an extension's value as text: Fulcio's 1.1 to 1.6 are the raw UTF-8 bytes,
 * later ones (and any other extension holding one string) a DER string; else null.
 */
export function extensionText(oid: string, v: Uint8Array): string | null {
  const utf8 = (b: Uint8Array) => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      return null;
    }
  };
  if (FULCIO_V1_RAW.test(oid)) return utf8(v);
  const t = tlv(v, 0);
  // UTF8String, PrintableString, IA5String, taking the whole value.
  if (!t || t.end !== v.length || ![0x0c, 0x13, 0x16].includes(t.tag)) return null;
  return utf8(v.subarray(t.body, t.end));
}

// GeneralNames (RFC 5280 §4.2.1.6): rfc822Name [1], dNSName [2] and URI [6] are IA5Strings;
// Fulcio's otherName [0] (1.3.6.1.4.1.57264.1.7) holds a UTF8String username.
function generalNames(v: Uint8Array): string[] {
  const seq = tlv(v, 0);
  if (!seq || seq.tag !== 0x30) return [];
  const out: string[] = [];
  for (let off = seq.body; off < seq.end;) {
    const n = tlv(v, off, seq.end);
    if (!n) break;
    if (n.tag === 0x81 || n.tag === 0x82 || n.tag === 0x86)
      out.push(new TextDecoder().decode(v.subarray(n.body, n.end)));
    else if (n.tag === 0xa0) {
      const oid = tlv(v, n.body, n.end);
      const wrap = oid && tlv(v, oid.end, n.end);
      const str = wrap && tlv(v, wrap.body, wrap.end);
      if (str?.tag === 0x0c) out.push(new TextDecoder().decode(v.subarray(str.body, str.end)));
    }
    off = n.end;
  }
  return out;
}

// A lenient DER element reader for extension values (their strictness is not ours to judge).
function tlv(b: Uint8Array, off: number, limit = b.length) {
  if (off + 2 > limit) return null;
  const tag = b[off]!;
  let len = b[off + 1]!;
  let body = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || body + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    body += n;
  }
  return body + len > limit ? null : { tag, body, end: body + len };
}
