/**
 * Self-signed Ed25519 X.509 certificates (RFC 5280, RFC 8410), DER-encoded by hand: a bastion
 * backend presents one as its TLS client certificate (https-bastion, "Backend to bastion
 * connection": it "MAY be self-signed"), and tests give their bastion one as its server
 * certificate. Only the fields those uses need are written.
 */
import { type KeyObject, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

// der returns one DER TLV: tag, definite length, content.
function der(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  const n = body.length;
  const len =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 255]
          : [0x83, n >> 16, (n >> 8) & 255, n & 255];
  return Buffer.concat([Uint8Array.of(tag, ...len), body]);
}

const seq = (...c: Uint8Array[]) => der(0x30, ...c);
const oid = (...bytes: number[]) => der(0x06, Uint8Array.from(bytes));
const ED25519 = seq(oid(0x2b, 0x65, 0x70)); // 1.3.101.112, no parameters (RFC 8410 §3)
const utf8String = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));

// time encodes a date as UTCTime before 2050 and GeneralizedTime after (RFC 5280 §4.1.2.5).
function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(iso.slice(2)))
    : der(0x18, Buffer.from(iso));
}

function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number));
  throw new Error(`bastion-cert: only IPv4 addresses are supported in names, not ${ip}`);
}

/** CertOptions: the common name, the names a server certificate is valid for, its lifetime. */
export interface CertOptions {
  readonly commonName: string;
  /** names are DNS names or IPv4 addresses for the subjectAltName extension. */
  readonly names?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** selfSignedCertificate returns a PEM certificate for the Ed25519 key pair, signed by itself. */
export function selfSignedCertificate(key: KeyObject, pub: KeyObject, opts: CertOptions): string {
  const serial = randomBytes(16);
  // A positive INTEGER in minimal DER (X.690 §8.3.2): the top bit clear, and a first byte that
  // is not zero, which would be padding (1 in 256 serials were, and parsers refuse them).
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const name = seq(der(0x31, seq(oid(0x55, 0x04, 0x03), utf8String(opts.commonName))));
  const now = Date.now();
  const validity = seq(
    time(opts.notBefore ?? new Date(now - 3600_000)),
    time(opts.notAfter ?? new Date(now + 24 * 3600_000)),
  );
  const spki = pub.export({ type: 'spki', format: 'der' });
  const exts: Uint8Array[] = [];
  if (opts.names?.length) {
    const general = opts.names.map((n) =>
      isIP(n) ? der(0x87, ipBytes(n)) : der(0x82, Buffer.from(n, 'ascii')),
    );
    exts.push(seq(oid(0x55, 0x1d, 0x11), der(0x04, seq(...general)))); // subjectAltName
  }
  const tbs = seq(
    der(0xa0, der(0x02, Uint8Array.of(2))), // version v3
    der(0x02, serial),
    ED25519,
    name,
    validity,
    name,
    spki,
    ...(exts.length ? [der(0xa3, seq(...exts))] : []),
  );
  const signature = sign(null, tbs, key);
  const cert = seq(tbs, ED25519, der(0x03, Uint8Array.of(0), signature));
  const b64 = Buffer.from(cert).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
