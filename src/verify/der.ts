/**
 * Just enough DER to find a certificate's SubjectPublicKeyInfo (RFC 5280 §4.1), in code that also
 * runs in browsers. Lengths are checked against the input; anything malformed yields null.
 */

interface Tlv {
  readonly tag: number;
  readonly start: number; // first byte of the TLV
  readonly body: number; // first byte of the value
  readonly end: number; // one past the last byte
}

function readTlv(b: Uint8Array, off: number, limit: number): Tlv | null {
  if (off + 2 > limit) return null;
  const tag = b[off]!;
  let len = b[off + 1]!;
  let body = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    body += n;
  }
  const end = body + len;
  return end > limit ? null : { tag, start: off, body, end };
}

/** certificateSpki returns the DER SubjectPublicKeyInfo inside a DER X.509 certificate, or null. */
export function certificateSpki(cert: Uint8Array): Uint8Array | null {
  const outer = readTlv(cert, 0, cert.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== cert.length) return null;
  const tbs = readTlv(cert, outer.body, outer.end);
  if (!tbs || tbs.tag !== 0x30) return null;
  let off = tbs.body;
  const first = readTlv(cert, off, tbs.end);
  if (!first) return null;
  if (first.tag === 0xa0) off = first.end; // [0] EXPLICIT version
  // serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo.
  for (let i = 0; i < 5; i++) {
    const t = readTlv(cert, off, tbs.end);
    if (!t) return null;
    off = t.end;
  }
  const spki = readTlv(cert, off, tbs.end);
  if (!spki || spki.tag !== 0x30) return null;
  return cert.subarray(spki.start, spki.end);
}
