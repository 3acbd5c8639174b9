/**
 * A strict DER reader (ITU-T X.690 §10, the distinguished encoding rules) for the few structures
 * tilelog reads: single-byte tags, definite lengths in their shortest form, minimal INTEGERs and
 * OID subidentifiers, BIT STRINGs with zero padding bits. Go's encoding/asn1 and cryptobyte
 * refuse the same encodings; anything else is a DerError naming what is wrong. No Node imports.
 */

/** DerError says why some bytes are not the DER that was expected. */
export class DerError extends Error {}

/** Tlv is one DER element: its tag, where its value starts, and where it ends. */
export interface Tlv {
  readonly tag: number;
  readonly start: number; // first byte of the element (its tag)
  readonly body: number; // first byte of the value
  readonly end: number; // one past the last byte
}

/** TAG holds the universal and context tags tilelog reads. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** readTlv reads the element at off, which must end by limit. */
export function readTlv(b: Uint8Array, off: number, limit: number, what: string): Tlv {
  if (off + 2 > limit) throw new DerError(`${what}: truncated`);
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`${what}: multi-byte tag`);
  let len = b[off + 1]!;
  let body = off + 2;
  if (len === 0x80) throw new DerError(`${what}: indefinite length (not DER)`);
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4 || body + n > limit) throw new DerError(`${what}: truncated length`);
    if (b[body] === 0) throw new DerError(`${what}: length with a leading zero (not DER)`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    if (len < 0x80) throw new DerError(`${what}: long-form length under 128 (not DER)`);
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new DerError(`${what}: length runs past the end`);
  return { tag, start: off, body, end };
}

/** expect reads the element at off and checks its tag. */
export function expect(b: Uint8Array, off: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(b, off, limit, what);
  if (t.tag !== tag) throw new DerError(`${what}: tag 0x${hex(t.tag)}, want 0x${hex(tag)}`);
  return t;
}

/** only reads the one element that fills b exactly (nothing may follow it). */
export function only(b: Uint8Array, tag: number, what: string): Tlv {
  const t = expect(b, 0, b.length, tag, what);
  if (t.end !== b.length) throw new DerError(`${what}: trailing data`);
  return t;
}

/** children reads every element inside a constructed element. */
export function children(b: Uint8Array, parent: Tlv, what: string): Tlv[] {
  const out: Tlv[] = [];
  for (let off = parent.body; off < parent.end;) {
    const t = readTlv(b, off, parent.end, `${what}[${out.length}]`);
    out.push(t);
    off = t.end;
  }
  return out;
}

/** value returns an element's value bytes. */
export function value(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.body, t.end);
}

/** element returns an element's full encoding. */
export function element(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.start, t.end);
}

/** checkInteger throws unless t is a minimally encoded INTEGER; returns its value bytes. */
export function checkInteger(b: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.INTEGER) throw new DerError(`${what}: not an INTEGER`);
  const v = value(b, t);
  if (v.length === 0) throw new DerError(`${what}: empty INTEGER`);
  if (v.length > 1 && ((v[0] === 0 && v[1]! < 0x80) || (v[0] === 0xff && v[1]! >= 0x80)))
    throw new DerError(`${what}: INTEGER not minimally encoded`);
  return v;
}

/** checkOid throws unless t is an OBJECT IDENTIFIER with minimal subidentifiers. */
export function checkOid(b: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.OID) throw new DerError(`${what}: not an OBJECT IDENTIFIER`);
  const v = value(b, t);
  if (v.length === 0 || v[v.length - 1]! & 0x80) throw new DerError(`${what}: truncated OID`);
  for (let i = 0; i < v.length; i++) {
    const first = i === 0 || !(v[i - 1]! & 0x80);
    if (first && v[i] === 0x80) throw new DerError(`${what}: OID not minimally encoded`);
  }
  return v;
}

/**
 * dottedOid formats an OBJECT IDENTIFIER's value bytes as dotted decimal (1.2.840…). X.690
 * §8.19: the first subidentifier packs the first two arcs as 40 × X + Y. It does not check the
 * encoding (checkOid does), so it also names OIDs read leniently.
 */
export function dottedOid(v: Uint8Array): string {
  const arcs: number[] = [];
  let n = 0;
  for (const x of v) {
    n = n * 128 + (x & 0x7f);
    if (x & 0x80) continue;
    if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
    else arcs.push(n);
    n = 0;
  }
  return arcs.join('.');
}

/** bitStringBytes returns a BIT STRING's bytes; it must have no unused bits. */
export function bitStringBytes(b: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.BIT_STRING) throw new DerError(`${what}: not a BIT STRING`);
  const v = value(b, t);
  if (v.length === 0) throw new DerError(`${what}: empty BIT STRING`);
  if (v[0] !== 0) throw new DerError(`${what}: BIT STRING with unused bits`);
  return v.subarray(1);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** hex formats bytes (or one byte) as lowercase hex. */
export function hex(v: number | Uint8Array): string {
  if (typeof v === 'number') return v.toString(16).padStart(2, '0');
  // A table and a loop: mapping each byte through an array was most of a certificate's parse.
  let s = '';
  for (let i = 0; i < v.length; i++) s += HEX[v[i]!];
  return s;
}
