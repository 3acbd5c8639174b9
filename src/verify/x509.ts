/**
 * Public keys and certificates read as strictly as Go's crypto/x509 (ParsePKIXPublicKey,
 * ParseCertificate), which is how rekor-tiles and Go monitors read the keys in log entries, and
 * stricter where Go tolerates an encoding that is not the one DER encoding of the key: a
 * SubjectPublicKeyInfo must be byte for byte what Go's MarshalPKIXPublicKey writes (RFC 5480 for
 * EC, RFC 3279 §2.3.1 for RSA, RFC 8410 for Ed25519). Whether an EC point lies on its curve is
 * left to the caller (this folder has no curve arithmetic). No Node imports.
 */
import {
  bitStringBytes,
  checkInteger,
  checkOid,
  children,
  DerError,
  dottedOid,
  element,
  hex,
  only,
  TAG,
  type Tlv,
  value,
} from './der.ts';

/** EcCurveName names the curves a key may use, as Node's crypto names them. */
export type EcCurveName = 'prime256v1' | 'secp384r1' | 'secp521r1';

/** SpkiKey is a parsed public key; point is 04 ‖ X ‖ Y, modulus has no leading zero byte. */
export type SpkiKey =
  | { readonly type: 'ec'; readonly curve: EcCurveName; readonly point: Uint8Array }
  | { readonly type: 'rsa'; readonly modulus: Uint8Array; readonly exponent: number }
  | { readonly type: 'ed25519'; readonly raw: Uint8Array };

const OID = {
  ecPublicKey: '2a8648ce3d0201',
  rsaEncryption: '2a864886f70d010101',
  ed25519: '2b6570',
};

const CURVES: Record<string, { name: EcCurveName; size: number }> = {
  '2a8648ce3d030107': { name: 'prime256v1', size: 32 },
  '2b81040022': { name: 'secp384r1', size: 48 },
  '2b81040023': { name: 'secp521r1', size: 66 },
};

/** parseSpki reads a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), or throws a DerError. */
export function parseSpki(der: Uint8Array): SpkiKey {
  const outer = only(der, TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const parts = children(der, outer, 'SubjectPublicKeyInfo');
  if (parts.length !== 2)
    throw new DerError(`SubjectPublicKeyInfo has ${parts.length} elements, want 2`);
  const alg = parts[0]!;
  if (alg.tag !== TAG.SEQUENCE) throw new DerError('algorithm is not a SEQUENCE');
  const ai = children(der, alg, 'algorithm');
  if (ai.length < 1 || ai.length > 2)
    throw new DerError(`AlgorithmIdentifier has ${ai.length} elements, want 1 or 2`);
  const oid = hex(checkOid(der, ai[0]!, 'algorithm'));
  const params = ai[1];
  const bits = bitStringBytes(der, parts[1]!, 'subjectPublicKey');
  switch (oid) {
    case OID.ecPublicKey:
      return ecKey(der, params, bits);
    case OID.rsaEncryption:
      // RFC 3279 §2.3.1: the parameters MUST be present and MUST be NULL.
      if (!params || hex(element(der, params)) !== '0500')
        throw new DerError('RSA key missing NULL parameters');
      return rsaKey(bits);
    case OID.ed25519:
      // RFC 8410 §3: the parameters MUST be absent.
      if (params) throw new DerError('Ed25519 key encoded with parameters');
      if (bits.length !== 32) throw new DerError(`Ed25519 key is ${bits.length} bytes, want 32`);
      return { type: 'ed25519', raw: bits };
    default:
      throw new DerError(`unknown public key algorithm ${dottedOid(hex2(oid))}`);
  }
}

function hex2(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));
}

function ecKey(der: Uint8Array, params: Tlv | undefined, bits: Uint8Array): SpkiKey {
  // RFC 5480 §2.1.1: namedCurve only (no implicit or specified curves).
  if (!params || params.tag !== TAG.OID)
    throw new DerError('EC parameters must be a named-curve OID');
  const curveOid = checkOid(der, params, 'namedCurve');
  const curve = Object.hasOwn(CURVES, hex(curveOid)) ? CURVES[hex(curveOid)] : undefined;
  if (!curve) throw new DerError(`unsupported elliptic curve ${dottedOid(curveOid)}`);
  // RFC 5480 §2.2: Go reads only the uncompressed form, 04 ‖ X ‖ Y.
  if (bits.length !== 1 + 2 * curve.size || bits[0] !== 4) {
    throw new DerError(
      `EC point must be uncompressed (04 ‖ X ‖ Y, ${1 + 2 * curve.size} bytes for ${curve.name})`,
    );
  }
  return { type: 'ec', curve: curve.name, point: bits };
}

function rsaKey(bits: Uint8Array): SpkiKey {
  const seq = only(bits, TAG.SEQUENCE, 'RSAPublicKey');
  const parts = children(bits, seq, 'RSAPublicKey');
  if (parts.length !== 2) throw new DerError(`RSAPublicKey has ${parts.length} elements, want 2`);
  const n = checkInteger(bits, parts[0]!, 'RSA modulus');
  const e = checkInteger(bits, parts[1]!, 'RSA public exponent');
  if (n[0]! >= 0x80 || (n.length === 1 && n[0] === 0))
    throw new DerError('RSA modulus is not a positive number');
  if (e[0]! >= 0x80) throw new DerError('RSA public exponent is not a positive number');
  let exponent = 0;
  for (const x of e) exponent = exponent * 256 + x;
  // Go's crypto/rsa refuses to verify with an exponent outside [2, 2^31-1]; an exponent of 1
  // would let anyone forge signatures, so such a key is refused here rather than at verification.
  if (e.length > 5 || exponent < 2 || exponent > 2 ** 31 - 1)
    throw new DerError('RSA public exponent is outside [2, 2^31-1]');
  return { type: 'rsa', modulus: n[0] === 0 ? n.subarray(1) : n, exponent };
}

/** ParsedCertificate is what tilelog reads from a certificate: its SPKI and key. */
export interface ParsedCertificate {
  readonly spki: Uint8Array;
  readonly key: SpkiKey;
}

/**
 * parseCertificate reads a DER X.509 certificate (RFC 5280 §4.1) with Go's structural checks:
 * no trailing data, a version of 1 to 3, a non-negative minimal serial (Go ≥ 1.23 refuses
 * negative ones), matching inner and outer signature algorithms, RFC 5280 times, a strict SPKI,
 * and no extension twice. Extension contents and name strings are not interpreted.
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const outer = only(der, TAG.SEQUENCE, 'certificate');
  const top = children(der, outer, 'certificate');
  if (top.length !== 3) throw new DerError(`certificate has ${top.length} elements, want 3`);
  const [tbs, sigAlg, sig] = top as [Tlv, Tlv, Tlv];
  if (tbs.tag !== TAG.SEQUENCE) throw new DerError('tbsCertificate is not a SEQUENCE');
  if (sigAlg.tag !== TAG.SEQUENCE) throw new DerError('signatureAlgorithm is not a SEQUENCE');
  bitStringBytes(der, sig, 'signatureValue');
  const f = children(der, tbs, 'tbsCertificate');
  let i = 0;
  if (f[0]?.tag === 0xa0) {
    const v = children(der, f[i++]!, 'version');
    const n = v.length === 1 ? checkInteger(der, v[0]!, 'version') : null;
    if (!n || n.length !== 1 || n[0]! > 2) throw new DerError('invalid version');
  }
  const serial = f[i++];
  if (!serial) throw new DerError('serialNumber is missing');
  if (checkInteger(der, serial, 'serialNumber')[0]! >= 0x80)
    throw new DerError('negative serial number');
  const inner = f[i++];
  if (!inner || hex(element(der, inner)) !== hex(element(der, sigAlg)))
    throw new DerError("inner and outer signature algorithms don't match");
  checkAlgorithm(der, inner);
  checkName(der, f[i++], 'issuer');
  checkValidity(der, f[i++]);
  checkName(der, f[i++], 'subject');
  const spkiTlv = f[i++];
  if (!spkiTlv) throw new DerError('subjectPublicKeyInfo is missing');
  const spki = element(der, spkiTlv);
  const key = parseSpki(spki);
  // issuerUniqueID [1], subjectUniqueID [2], extensions [3], in that order, each optional.
  for (const tag of [0x81, 0x82]) if (f[i]?.tag === tag) i++;
  if (f[i]?.tag === 0xa3) checkExtensions(der, f[i++]!);
  if (i !== f.length) throw new DerError('tbsCertificate has unexpected elements');
  return { spki, key };
}

function checkAlgorithm(der: Uint8Array, t: Tlv): void {
  const ai = children(der, t, 'signature');
  if (ai.length < 1 || ai.length > 2) throw new DerError('malformed signature algorithm');
  checkOid(der, ai[0]!, 'signature algorithm');
}

// Name ::= SEQUENCE OF SET OF SEQUENCE { OID, value } (RFC 5280 §4.1.2.4).
function checkName(der: Uint8Array, t: Tlv | undefined, what: string): void {
  if (!t || t.tag !== TAG.SEQUENCE) throw new DerError(`malformed ${what}`);
  for (const rdn of children(der, t, what)) {
    if (rdn.tag !== TAG.SET) throw new DerError(`malformed ${what}`);
    for (const atv of children(der, rdn, what)) {
      const p = atv.tag === TAG.SEQUENCE ? children(der, atv, what) : [];
      if (p.length !== 2) throw new DerError(`malformed ${what}`);
      checkOid(der, p[0]!, `${what} attribute type`);
    }
  }
}

// RFC 5280 §4.1.2.5.1 and §4.1.2.5.2: YYMMDDHHMMSSZ and YYYYMMDDHHMMSSZ.
function checkValidity(der: Uint8Array, t: Tlv | undefined): void {
  const times = t?.tag === TAG.SEQUENCE ? children(der, t, 'validity') : [];
  if (times.length !== 2) throw new DerError('malformed validity');
  for (const tm of times) {
    const s = String.fromCharCode(...value(der, tm));
    const ok =
      (tm.tag === TAG.UTC_TIME && /^\d{12}Z$/.test(s)) ||
      (tm.tag === TAG.GENERALIZED_TIME && /^\d{14}Z$/.test(s));
    if (!ok) throw new DerError('validity time is not in RFC 5280 form');
  }
}

function checkExtensions(der: Uint8Array, t: Tlv): void {
  const wrapper = children(der, t, 'extensions');
  if (wrapper.length !== 1 || wrapper[0]!.tag !== TAG.SEQUENCE)
    throw new DerError('malformed extensions');
  const seen = new Set<string>();
  for (const ext of children(der, wrapper[0]!, 'extension')) {
    const p = ext.tag === TAG.SEQUENCE ? children(der, ext, 'extension') : [];
    const crit = p.length === 3 ? p[1]! : null;
    if (p.length < 2 || p.length > 3 || p.at(-1)!.tag !== TAG.OCTET_STRING)
      throw new DerError('malformed extension');
    if (crit && (crit.tag !== TAG.BOOLEAN || !['00', 'ff'].includes(hex(value(der, crit)))))
      throw new DerError('malformed extension critical flag');
    const id = hex(checkOid(der, p[0]!, 'extension'));
    if (seen.has(id)) throw new DerError('certificate contains duplicate extensions');
    seen.add(id);
  }
}

/** certificateSpki returns the DER SubjectPublicKeyInfo of a certificate, or null. */
export function certificateSpki(cert: Uint8Array): Uint8Array | null {
  try {
    return parseCertificate(cert).spki;
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}
