// A small DER writer that makes Fulcio-like certificates for tests: SANs of each kind, the OIDC
// issuer in extension 1.3.6.1.4.1.57264.1.8 and/or the legacy .1.1, self-signed with P-256.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 255);
  return [0x80 | out.length, ...out];
}
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return new Uint8Array(Buffer.concat([Buffer.from([tag, ...len(body.length)]), body]));
}
const seq = (...c: Uint8Array[]) => tlv(0x30, ...c);
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const b: number[] = [a & 127];
    for (let v = Math.floor(a / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 127));
    bytes.push(...b);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const ia5 = (tag: number, s: string) => tlv(tag, Buffer.from(s, 'ascii'));

export type San = { email: string } | { uri: string } | { dns: string } | { username: string };

function generalName(s: San): Uint8Array {
  if ('email' in s) return ia5(0x81, s.email);
  if ('dns' in s) return ia5(0x82, s.dns);
  if ('uri' in s) return ia5(0x86, s.uri);
  return tlv(0xa0, oid('1.3.6.1.4.1.57264.1.7'), tlv(0xa0, utf8(s.username)));
}

function ext(id: string, value: Uint8Array, critical = false): Uint8Array {
  return seq(oid(id), ...(critical ? [tlv(0x01, Uint8Array.of(0xff))] : []), tlv(0x04, value));
}

export interface CertOptions {
  readonly sans?: readonly San[];
  readonly issuer?: string; // .1.8
  readonly legacyIssuer?: string; // .1.1
  readonly extraExtensions?: readonly Uint8Array[];
}

export interface TestCert {
  readonly der: Uint8Array;
  readonly privateKey: KeyObject;
  readonly spki: Uint8Array;
}

const ECDSA_SHA256 = () => seq(oid('1.2.840.10045.4.3.2'));
const time = (d: string) => tlv(0x17, Buffer.from(d, 'ascii'));

export function makeCert(
  o: CertOptions,
  pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
): TestCert {
  const spki = new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' }));
  const exts: Uint8Array[] = [];
  if (o.sans && o.sans.length > 0)
    exts.push(ext('2.5.29.17', seq(...o.sans.map(generalName)), true));
  if (o.legacyIssuer !== undefined)
    exts.push(ext('1.3.6.1.4.1.57264.1.1', Buffer.from(o.legacyIssuer, 'utf8')));
  if (o.issuer !== undefined) exts.push(ext('1.3.6.1.4.1.57264.1.8', utf8(o.issuer)));
  exts.push(...(o.extraExtensions ?? []));
  const name = seq(tlv(0x31, seq(oid('2.5.4.10'), utf8('sigstore.dev'))));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))),
    tlv(0x02, Uint8Array.of(0x01, 0x23, 0x45)),
    ECDSA_SHA256(),
    name,
    seq(time('251214020439Z'), time('251214021439Z')),
    seq(),
    spki,
    ...(exts.length > 0 ? [tlv(0xa3, seq(...exts))] : []),
  );
  const sig = sign('sha256', tbs, pair.privateKey);
  const der = seq(tbs, ECDSA_SHA256(), tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
  return { der, privateKey: pair.privateKey, spki };
}
