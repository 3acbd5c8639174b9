/**
 * What the explorer shows of a certificate: subject and issuer names, validity, serial, SANs
 * and the Fulcio OIDC issuer. The certificate must first pass verify/'s Go-strict parser and
 * vindex's reading of its names (the map function's own, so that what is shown is what is
 * indexed); the rest is read here with a few lines of DER (RFC 5280 §4.1). Pure: no DOM, no Node.
 */
import { decodeUtf8, toHex } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { DerError, dottedOid, parseCertificate, parseSpki, type SpkiKey } from '../verify/index.ts';
import { certificateNames } from '../vindex/index.ts';

/** CertInfo is the readable part of a certificate. */
export interface CertInfo {
  readonly subject: string;
  readonly issuerName: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly sans: readonly string[];
  /** oidcIssuer is Fulcio's extension 1.3.6.1.4.1.57264.1.8 (or legacy .1.1), if any. */
  readonly oidcIssuer: string | null;
  readonly keyType: string;
  /** spkiSha256 is hex SHA-256 of the DER SPKI: the index's `key` search term. */
  readonly spkiSha256: string;
}

interface Tlv {
  readonly tag: number;
  readonly body: number;
  readonly end: number;
}

// readTlv reads one definite-length TLV; the certificate already passed a strict DER parser.
function readTlv(b: Uint8Array, off: number): Tlv {
  const tag = b[off]!;
  let len = b[off + 1]!;
  let body = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    body += n;
  }
  return { tag, body, end: body + len };
}

function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = t.body; off < t.end; off = out.at(-1)!.end) out.push(readTlv(b, off));
  return out;
}

const ATTRIBUTES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

// stringValue decodes a directory string; unknown string types are shown as hex.
function stringValue(b: Uint8Array, t: Tlv): string {
  const v = b.subarray(t.body, t.end);
  if (t.tag === 0x1e) {
    let s = '';
    for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
    return s;
  }
  if ([0x0c, 0x13, 0x16, 0x14].includes(t.tag)) return decodeUtf8(v) ?? `#${toHex(v)}`;
  return `#${toHex(v)}`;
}

/** nameString formats an X.501 Name as RFC 4514 text, most significant RDN last. */
function nameString(b: Uint8Array, name: Tlv): string {
  const rdns = children(b, name).map((rdn) =>
    children(b, rdn)
      .map((atv) => {
        const [type, value] = children(b, atv) as [Tlv, Tlv];
        const oid = dottedOid(b.subarray(type.body, type.end));
        return `${ATTRIBUTES[oid] ?? oid}=${stringValue(b, value)}`;
      })
      .join('+'),
  );
  return rdns.reverse().join(', ') || '(empty)';
}

/** timeString turns a UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5) into ISO 8601. */
function timeString(b: Uint8Array, t: Tlv): string {
  const s = String.fromCharCode(...b.subarray(t.body, t.end));
  const full = t.tag === 0x17 ? (Number(s.slice(0, 2)) >= 50 ? '19' : '20') + s : s;
  const [y, mo, d, h, mi, se] = [0, 4, 6, 8, 10, 12].map((i, k) => full.slice(i, k ? i + 2 : 4));
  return `${y}-${mo}-${d}T${h}:${mi}:${se}Z`;
}

/** keyTypeOf names a parsed public key: "ECDSA P-256", "RSA 2048", "Ed25519". */
export function keyTypeOf(k: SpkiKey): string {
  if (k.type === 'ed25519') return 'Ed25519';
  if (k.type === 'rsa') return `RSA ${k.modulus.length * 8}`;
  const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[k.curve];
  return `ECDSA ${curve}`;
}

/** spkiInfo describes a DER public key, or returns null when it does not parse. */
export function spkiInfo(spki: Uint8Array): { keyType: string; spkiSha256: string } | null {
  try {
    return { keyType: keyTypeOf(parseSpki(spki)), spkiSha256: toHex(sha256(spki)) };
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}

/** certInfo reads a DER certificate for display, or returns null when it does not parse. */
export function certInfo(der: Uint8Array): CertInfo | null {
  let parsed;
  try {
    parsed = parseCertificate(der);
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
  const names = certificateNames(der);
  const tbs = children(der, readTlv(der, 0))[0]!;
  const f = children(der, tbs);
  const i = f[0]!.tag === 0xa0 ? 1 : 0;
  const [serial, , issuer, validity, subject] = f.slice(i, i + 5) as Tlv[];
  const [nb, na] = children(der, validity!) as [Tlv, Tlv];
  return {
    subject: nameString(der, subject!),
    issuerName: nameString(der, issuer!),
    serial: toHex(der.subarray(serial!.body, serial!.end)),
    notBefore: timeString(der, nb),
    notAfter: timeString(der, na),
    sans: names?.sans ?? [],
    oidcIssuer: names?.issuer ?? null,
    keyType: keyTypeOf(parsed.key),
    spkiSha256: toHex(sha256(parsed.spki)),
  };
}
