/**
 * The names in a Fulcio certificate that the map function indexes: the subject alternative names
 * (RFC 5280 §4.2.1.6) and the OIDC issuer (Fulcio's OID registry, docs/oid-info.md in
 * sigstore/fulcio: 1.3.6.1.4.1.57264.1.8, and the legacy 1.3.6.1.4.1.57264.1.1). The certificate
 * must first pass verify/'s Go-strict parser; the extensions are then read with just enough DER,
 * in code that also runs in browsers. Anything malformed makes the whole certificate unreadable
 * (null), never a partial answer.
 */
import { decodeUtf8, equal } from '../bytes.ts';
import { DerError, parseCertificate } from '../verify/index.ts';

interface Tlv {
  readonly tag: number;
  readonly body: number; // first byte of the value
  readonly end: number; // one past the last byte
}

// readTlv reads one DER TLV at off that must end by limit; definite, minimal lengths only.
function readTlv(b: Uint8Array, off: number, limit: number): Tlv | null {
  if (off + 2 > limit) return null;
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) return null; // multi-byte tags appear nowhere we read
  let len = b[off + 1]!;
  let body = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || body + n > limit || b[body] === 0) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    if (len < 0x80) return null; // DER: the short form when it fits
    body += n;
  }
  const end = body + len;
  return end > limit ? null : { tag, body, end };
}

// children reads the TLVs that exactly fill the value of a constructed TLV.
function children(b: Uint8Array, t: Tlv): Tlv[] | null {
  const out: Tlv[] = [];
  for (let off = t.body; off < t.end;) {
    const c = readTlv(b, off, t.end);
    if (!c) return null;
    out.push(c);
    off = c.end;
  }
  return out;
}

// The DER contents of the OIDs we look for.
const OID_SAN = Uint8Array.of(0x55, 0x1d, 0x11); // 2.5.29.17
const FULCIO = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01];
const OID_ISSUER_V1 = Uint8Array.of(...FULCIO, 0x01); // 1.3.6.1.4.1.57264.1.1
const OID_USERNAME = Uint8Array.of(...FULCIO, 0x07); // 1.3.6.1.4.1.57264.1.7
const OID_ISSUER_V2 = Uint8Array.of(...FULCIO, 0x08); // 1.3.6.1.4.1.57264.1.8

const SEQUENCE = 0x30;
const OCTET_STRING = 0x04;
const UTF8_STRING = 0x0c;
const BOOLEAN = 0x01;

/** CertificateNames are the indexed names of a certificate, in certificate order. */
export interface CertificateNames {
  /** sans are the rfc822Name, dNSName, URI and Fulcio username otherName values. */
  readonly sans: readonly string[];
  /** issuer is the OIDC issuer from extension .1.8, else from the legacy .1.1, else null. */
  readonly issuer: string | null;
}

function bytesOf(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.body, t.end);
}

function ia5(v: Uint8Array): string | null {
  for (const c of v) if (c > 0x7f) return null;
  return decodeUtf8(v);
}

// generalName returns the string of one GeneralName we index, undefined for kinds we skip, and
// null when it is malformed.
function generalName(b: Uint8Array, g: Tlv): string | null | undefined {
  switch (g.tag) {
    case 0x81: // [1] rfc822Name IA5String
    case 0x82: // [2] dNSName IA5String
    case 0x86: // [6] uniformResourceIdentifier IA5String
      return ia5(bytesOf(b, g));
    case 0xa0: {
      // [0] otherName: type-id OID, [0] EXPLICIT value
      const parts = children(b, g);
      if (!parts || parts.length !== 2 || parts[0]!.tag !== 0x06 || parts[1]!.tag !== 0xa0)
        return null;
      if (!equal(bytesOf(b, parts[0]!), OID_USERNAME)) return undefined;
      const inner = children(b, parts[1]!);
      if (!inner || inner.length !== 1 || inner[0]!.tag !== UTF8_STRING) return null;
      return decodeUtf8(bytesOf(b, inner[0]!));
    }
    default:
      return undefined;
  }
}

function sanValues(b: Uint8Array, value: Tlv): string[] | null {
  const seq = readTlv(b, value.body, value.end);
  if (!seq || seq.tag !== SEQUENCE || seq.end !== value.end) return null;
  const names = children(b, seq);
  if (!names) return null;
  const out: string[] = [];
  for (const g of names) {
    const s = generalName(b, g);
    if (s === null) return null;
    if (s !== undefined && s !== '') out.push(s);
  }
  return out;
}

// extensions returns the Extension SEQUENCEs of a certificate ([] when it has none), or null.
function extensions(b: Uint8Array): Tlv[] | null {
  const cert = readTlv(b, 0, b.length);
  if (!cert || cert.tag !== SEQUENCE || cert.end !== b.length) return null;
  const tbs = readTlv(b, cert.body, cert.end);
  if (!tbs || tbs.tag !== SEQUENCE) return null;
  const fields = children(b, tbs);
  if (!fields || fields.length < 6) return null;
  const ext = fields.find((f) => f.tag === 0xa3); // [3] EXPLICIT Extensions
  if (!ext) return [];
  const inner = children(b, ext);
  if (!inner || inner.length !== 1 || inner[0]!.tag !== SEQUENCE) return null;
  return children(b, inner[0]!);
}

/**
 * certificateNames reads the SANs and OIDC issuer of a DER certificate, or returns null when the
 * certificate, its SAN extension or an issuer extension is malformed, or an extension repeats.
 */
export function certificateNames(der: Uint8Array): CertificateNames | null {
  // What Go's x509.ParseCertificate refuses maps to no key, whatever its extensions say.
  try {
    parseCertificate(der);
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
  const exts = extensions(der);
  if (!exts) return null;
  let sans: string[] = [];
  let v1: string | null = null;
  let v2: string | null = null;
  for (const e of exts) {
    const parts = children(der, e);
    if (!parts || parts.length < 2 || parts.length > 3 || parts[0]!.tag !== 0x06) return null;
    if (parts.length === 3 && parts[1]!.tag !== BOOLEAN) return null;
    const value = parts[parts.length - 1]!;
    if (value.tag !== OCTET_STRING) return null;
    // parseCertificate refused a repeated extension (RFC 5280 §4.2: at most once each).
    const oid = bytesOf(der, parts[0]!);
    if (equal(oid, OID_SAN)) {
      const s = sanValues(der, value);
      if (!s) return null;
      sans = s;
    } else if (equal(oid, OID_ISSUER_V1)) {
      // The legacy extension holds the issuer's bytes directly, not a DER string.
      v1 = decodeUtf8(bytesOf(der, value));
      if (v1 === null) return null;
    } else if (equal(oid, OID_ISSUER_V2)) {
      const s = readTlv(der, value.body, value.end);
      if (!s || s.tag !== UTF8_STRING || s.end !== value.end) return null;
      v2 = decodeUtf8(bytesOf(der, s));
      if (v2 === null) return null;
    }
  }
  const issuer = v2 !== null && v2 !== '' ? v2 : v1 !== null && v1 !== '' ? v1 : null;
  return { sans, issuer };
}
