/**
 * What the monitor reads from a Rekor v2 entry (hashedrekord 0.0.2, dsse 0.0.2) to match rules:
 * the digest, every verifier's key, and for a certificate its subject, its SANs, its OIDC issuer
 * (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the older 1.1) and every extension's value, plus
 * the fingerprints rekor-monitor uses (hex SHA-256 of the DER SPKI and of the DER certificate).
 * Entries are untrusted: anything unreadable is left out, never thrown. Following a log reads
 * only what its rules need (Need): a monitor summarizes every entry of a busy shard.
 */
import { hash } from 'node:crypto';

import { toBase64 } from '../bytes.ts';
import { parseJsonExact } from '../json.ts';
import { dottedOid } from '../verify/index.ts';

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
const SAN = '2.5.29.17';
const FULCIO_V1_RAW = /^1\.3\.6\.1\.4\.1\.57264\.1\.[1-6]$/;

/**
 * Need names a costly part of a summary that a rule reads: the base64 keys (publicKeys), the
 * subject names (subjects), the SHA-256 fingerprints, or every extension's text (extensions).
 * The digest, the SANs and the OIDC issuer are always read.
 */
export type Need = 'publicKeys' | 'subjects' | 'fingerprints' | 'extensions';

/** Needs says which costly parts to read; ALL reads every one. */
export type Needs = Readonly<Record<Need, boolean>>;

/** ALL asks summarize for the whole summary (what a match reports). */
export const ALL: Needs = {
  publicKeys: true,
  subjects: true,
  fingerprints: true,
  extensions: true,
};

const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder();
// One-shot hash (Node 20.12+): a third of createHash's cost for a certificate (measured).
const sha256hex = (b: Uint8Array) => hash('sha256', b, 'hex');
// Buffer's decoder: a sixth of bytes.fromBase64's cost for a certificate (measured). It skips
// what is not base64 (and reads the URL-safe alphabet too), so a text with anything else in it
// decodes short and is refused by its length; the padding bits are not checked.
// The bytes are returned as a plain Uint8Array view: a Buffer's subarray builds a Buffer, which
// costs several times as much, and a certificate is cut into dozens of them (measured).
function base64(v: unknown): Uint8Array | null {
  if (typeof v !== 'string' || v.length % 4 !== 0) return null;
  const b = Buffer.from(v, 'base64');
  const pad = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
  return b.length === (v.length / 4) * 3 - pad
    ? new Uint8Array(b.buffer, b.byteOffset, b.length)
    : null;
}

function empty(kind = 'unknown'): EntrySummary {
  return { kind, publicKeys: [], subjects: [], sans: [], fingerprints: [], certificates: [] };
}

/**
 * summarize parses a Rekor v2 entry body; other bodies yield kind "unknown". With needs, the
 * parts not needed are left empty.
 */
export function summarize(entry: Uint8Array, needs: Needs = ALL): EntrySummary {
  // Untrusted JSON, walked with optional chaining and checked field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let body: any;
  try {
    body = parseJsonExact(strict.decode(entry));
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
  const s: EntrySummary =
    typeof digest === 'string'
      ? { kind, publicKeys: [], subjects: [], sans: [], fingerprints: [], certificates: [], digest }
      : empty(kind);
  for (const v of verifiers) {
    const key = needs.publicKeys || needs.fingerprints ? base64(v?.publicKey?.rawBytes) : null;
    if (key) {
      if (needs.publicKeys) s.publicKeys.push(toBase64(key));
      if (needs.fingerprints) s.fingerprints.push(sha256hex(key));
    }
    const der = base64(v?.x509Certificate?.rawBytes);
    if (der) readCertificate(der, s, needs);
  }
  return s;
}

// A certificate read leniently, for matching only (admission checked it strictly, and a monitor
// must report what a log holds, not refuse it): Certificate → tbsCertificate → its fields
// (RFC 5280 §4.1). Node's X509Certificate costs about five times as much per entry.
function readCertificate(der: Uint8Array, s: EntrySummary, needs: Needs): void {
  const cert = tlv(der, 0);
  const tbs = cert?.tag === 0x30 ? tlv(der, cert.body, cert.end) : null;
  if (!tbs || tbs.tag !== 0x30) return;
  const f = children(der, tbs.body, tbs.end);
  const at = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const subject = f[at + 4];
  const spki = f[at + 5];
  if (!subject || !spki || subject.tag !== 0x30 || spki.tag !== 0x30) return;
  const spkiDer = der.subarray(spki.start, spki.end);
  if (needs.publicKeys) s.publicKeys.push(toBase64(spkiDer));
  if (needs.fingerprints) s.fingerprints.push(sha256hex(spkiDer), sha256hex(der));
  const name = needs.subjects ? distinguishedName(der, subject) : '';
  if (needs.subjects) s.subjects.push(name);
  const extensions = new Map<string, string>();
  let sans: string[] = [];
  const wrap = f.find((t) => t.tag === 0xa3);
  const list = wrap && tlv(der, wrap.body, wrap.end);
  for (const ext of list?.tag === 0x30 ? children(der, list.body, list.end) : []) {
    // Extension: extnID, [critical], extnValue: the first element and the last one.
    const id = tlv(der, ext.body, ext.end);
    let value = id;
    for (let t = id; t && t.end < ext.end;) {
      t = tlv(der, t.end, ext.end);
      if (t) value = t;
    }
    if (id?.tag !== 0x06 || value?.tag !== 0x04) continue;
    // Without every extension, only the SANs and the issuer are read (known by their DER bytes).
    const oid = needs.extensions ? dottedOid(der.subarray(id.body, id.end)) : wanted(der, id);
    if (oid === null) continue;
    const v = der.subarray(value.body, value.end);
    if (oid === SAN) sans = generalNames(v);
    const text = extensionText(oid, v);
    if (text !== null) extensions.set(oid, text);
  }
  s.sans.push(...sans);
  const issuer = extensions.get(ISSUER_V2) ?? extensions.get(ISSUER_V1);
  s.certificates.push({
    subject: name,
    sans,
    ...(issuer !== undefined ? { issuer } : {}),
    extensions,
  });
}

// wanted: the OID (DER value) is 2.5.29.17, subjectAltName (55 1d 11), or one of Fulcio's
// issuer OIDs 1.3.6.1.4.1.57264.1.1 and .8 (FULCIO_ARC then 1 or 8): its dotted text, or null.
const FULCIO_ARC = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01];

function wanted(b: Uint8Array, t: Tlv): string | null {
  const o = t.body;
  const n = t.end - o;
  if (n === 3) return b[o] === 0x55 && b[o + 1] === 0x1d && b[o + 2] === 0x11 ? SAN : null;
  const last = b[o + 9];
  if (n !== FULCIO_ARC.length + 1 || (last !== 1 && last !== 8)) return null;
  for (let i = 0; i < FULCIO_ARC.length; i++) if (b[o + i] !== FULCIO_ARC[i]) return null;
  return last === 1 ? ISSUER_V1 : ISSUER_V2;
}

const ATTRIBUTES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

// A Name as Node's X509Certificate.subject prints it: one TYPE=value line per attribute.
function distinguishedName(der: Uint8Array, name: Tlv): string {
  const lines: string[] = [];
  for (const rdn of children(der, name.body, name.end))
    for (const atv of children(der, rdn.body, rdn.end)) {
      const [oid, value] = children(der, atv.body, atv.end);
      if (oid?.tag !== 0x06 || !value) continue;
      const type = dottedOid(der.subarray(oid.body, oid.end));
      const text = lenient.decode(der.subarray(value.body, value.end));
      lines.push(`${ATTRIBUTES[type] ?? type}=${text}`);
    }
  return lines.join('\n');
}

/**
 * extensionText is an extension's value as text: Fulcio's 1.1 to 1.6 are the raw UTF-8 bytes,
 * later ones (and any other extension holding one string) a DER string; else null.
 */
export function extensionText(oid: string, v: Uint8Array): string | null {
  const utf8 = (b: Uint8Array) => {
    try {
      return strict.decode(b);
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
      out.push(lenient.decode(v.subarray(n.body, n.end)));
    else if (n.tag === 0xa0) {
      const oid = tlv(v, n.body, n.end);
      const wrap = oid && tlv(v, oid.end, n.end);
      const str = wrap && tlv(v, wrap.body, wrap.end);
      if (str?.tag === 0x0c) out.push(lenient.decode(v.subarray(str.body, str.end)));
    }
    off = n.end;
  }
  return out;
}

// A lenient DER element reader for extension values (their strictness is not ours to judge).
function tlv(b: Uint8Array, off: number, limit = b.length): Tlv | null {
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
  return body + len > limit ? null : { tag, start: off, body, end: body + len };
}

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly body: number;
  readonly end: number;
}

function children(b: Uint8Array, from: number, end: number): Tlv[] {
  const out: Tlv[] = [];
  for (let off = from; off < end;) {
    const t = tlv(b, off, end);
    if (!t) break;
    out.push(t);
    off = t.end;
  }
  return out;
}
