/**
 * Finding things in a token by PKCS#11 URI: the module, the token (by its label, manufacturer,
 * serial, model or slot-id), the login PIN (pin-value, pin-source, or TILELOG_PKCS11_PIN), and
 * an Ed25519 or ECDSA P-256 key pair (by object label and/or id). Failures are TokenFailure, which says whether
 * the token or key is absent (it may come back: retry) or refused us (a wrong PIN or key type:
 * it will not get better).
 */
import { readFileSync } from 'node:fs';

import {
  A,
  type Attribute,
  CKK_EC,
  CKK_EC_EDWARDS,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN,
  CKM_ECDSA,
  CKM_EDDSA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  ckrCode,
  ckrName,
  type Handle,
  Module,
  type TokenInfo,
} from './module.ts';
import { parsePkcs11Uri, pinSourcePath, type Pkcs11Uri, uriAttribute } from './uri.ts';

/** TokenFailure is a failure to reach a token or key: absent (may come back) or refused. */
export class TokenFailure extends Error {
  readonly kind: 'absent' | 'refused';
  constructor(kind: 'absent' | 'refused', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenFailure';
    this.kind = kind;
  }
}

/** Target is a parsed URI resolved to a module, a token match, an object template and a PIN. */
export interface Target {
  readonly module: Module;
  readonly uri: Pkcs11Uri;
  /** token describes the token as the URI names it, for messages. */
  readonly token: string;
  /** object describes the key as the URI names it, for messages. */
  readonly object: string;
  readonly label?: string;
  readonly id?: Uint8Array;
  readonly pin?: string;
}

// PINs: the URI's pin-value, else its pin-source file, else TILELOG_PKCS11_PIN.
function pinOf(uri: Pkcs11Uri, env: NodeJS.ProcessEnv): string | undefined {
  const value = uriAttribute(uri, 'pin-value');
  if (value !== undefined) return value;
  const source = uriAttribute(uri, 'pin-source');
  if (source === undefined) return env.TILELOG_PKCS11_PIN;
  const file = pinSourcePath(source);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new TokenFailure('refused', `pkcs11: cannot read pin-source ${file}`, { cause: err });
  }
}

/** resolveTarget parses uri, loads its module and reads its PIN; it throws bad input. */
export function resolveTarget(text: string, env: NodeJS.ProcessEnv): Target {
  const uri = parsePkcs11Uri(text);
  const modulePath = uriAttribute(uri, 'module-path');
  if (modulePath === undefined)
    throw new TokenFailure('refused', 'pkcs11: the URI has no module-path');
  const type = uriAttribute(uri, 'type');
  if (type !== undefined && type !== 'private' && type !== 'public')
    throw new TokenFailure('refused', `pkcs11: type=${type} is not a key`);
  const label = uriAttribute(uri, 'object');
  if (label === undefined && uri.id === undefined)
    throw new TokenFailure('refused', 'pkcs11: the URI names no key (object= or id=)');
  const tokenAttrs = uri.path.filter(([k]) => !['object', 'id', 'type'].includes(k));
  const token = tokenAttrs.map(([k, v]) => `${k}=${v}`).join(';') || 'any';
  const idHex = uri.id ? Buffer.from(uri.id).toString('hex') : undefined;
  return {
    module: Module.load(modulePath),
    uri,
    token,
    object: [label && `object=${label}`, idHex && `id=${idHex}`].filter(Boolean).join(';'),
    ...(label !== undefined ? { label } : {}),
    ...(uri.id ? { id: uri.id } : {}),
    pin: pinOf(uri, env),
  };
}

function matches(t: TokenInfo, uri: Pkcs11Uri): boolean {
  const want = (k: 'token' | 'manufacturer' | 'model' | 'serial', have: string) => {
    const v = uriAttribute(uri, k);
    return v === undefined || v === have;
  };
  const slot = uriAttribute(uri, 'slot-id');
  return (
    want('token', t.label) &&
    want('manufacturer', t.manufacturer) &&
    want('model', t.model) &&
    want('serial', t.serial) &&
    (slot === undefined || BigInt(slot) === t.slotId)
  );
}

/** Opened is a logged-in session on the one token a target names. */
export interface Opened {
  readonly info: TokenInfo;
  readonly session: Handle;
}

/** openToken initializes the module, finds the target's token, opens a session and logs in. */
export function openToken(t: Target, reset = false): Opened {
  try {
    t.module.initialize(reset);
  } catch (err) {
    throw new TokenFailure('absent', `pkcs11: module ${t.module.path} failed (${ckrName(err)})`, {
      cause: err,
    });
  }
  let found: TokenInfo[];
  try {
    found = t.module.tokens().filter((info) => matches(info, t.uri));
  } catch (err) {
    throw new TokenFailure('absent', `pkcs11: listing tokens failed (${ckrName(err)})`, {
      cause: err,
    });
  }
  if (found.length === 0) throw new TokenFailure('absent', `pkcs11: no token ${t.token}`);
  if (found.length > 1)
    throw new TokenFailure('refused', `pkcs11: ${found.length} tokens match ${t.token}`);
  const info = found[0]!;
  if (info.loginRequired && t.pin === undefined)
    throw new TokenFailure(
      'refused',
      `pkcs11: token ${info.label} needs a PIN (pin-value, pin-source or TILELOG_PKCS11_PIN)`,
    );
  try {
    return { info, session: t.module.openSession(info.slot, t.pin) };
  } catch (err) {
    const code = ckrCode(err);
    // CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED: the PIN is the problem.
    if (code === 0xa0 || code === 0xa2 || code === 0xa4)
      throw new TokenFailure(
        'refused',
        `pkcs11: wrong PIN for token ${info.label} (${ckrName(err)})`,
      );
    throw new TokenFailure('absent', `pkcs11: token ${info.label}: ${ckrName(err)}`, {
      cause: err,
    });
  }
}

/**
 * KeyKind is the kind of key a URI must name: Ed25519 (log and witness keys, signing with
 * CKM_EDDSA) or ECDSA P-256 (artifact signing keys for tilelog sign, CKM_ECDSA over a digest).
 */
export type KeyKind = 'ed25519' | 'p256';

/** KIND says how each kind of key is recognised, generated and used (PKCS#11 v3.0 §2.3). */
export const KIND = {
  ed25519: {
    name: 'Ed25519',
    keyType: CKK_EC_EDWARDS,
    // CKA_EC_PARAMS: the RFC 8410 OID (what we write), or the curve's printable name.
    params: [
      Buffer.from('06032b6570', 'hex'),
      Buffer.concat([Buffer.from('130c', 'hex'), Buffer.from('edwards25519')]),
    ],
    generate: CKM_EC_EDWARDS_KEY_PAIR_GEN,
    sign: CKM_EDDSA,
    pointSize: 32, // the RFC 8032 encoding
  },
  p256: {
    name: 'ECDSA P-256',
    keyType: CKK_EC,
    params: [Buffer.from('06082a8648ce3d030107', 'hex')], // prime256v1 (RFC 5480)
    generate: CKM_EC_KEY_PAIR_GEN,
    sign: CKM_ECDSA,
    pointSize: 65, // the SEC 1 uncompressed point
  },
} as const;

/** KeyPair is the handles of a key pair in a session and its raw public key (see KIND). */
export interface KeyPair {
  readonly privateKey: Handle;
  readonly publicKey: Uint8Array;
}

function template(t: Target, cls: number): Attribute[] {
  const a: Attribute[] = [{ type: A.CLASS, value: cls }];
  if (t.label !== undefined) a.push({ type: A.LABEL, value: t.label });
  if (t.id !== undefined) a.push({ type: A.ID, value: Buffer.from(t.id) });
  return a;
}

/**
 * findKeyPair finds the one private key of kind the target names and its public key, or null
 * when there is none; it throws TokenFailure for an ambiguous URI or a key of another type.
 */
export function findKeyPair(t: Target, o: Opened, kind: KeyKind = 'ed25519'): KeyPair | null {
  const k = KIND[kind];
  const m = t.module;
  const where = `${t.object} in token ${o.info.label}`;
  const priv = m.find(o.session, template(t, CKO_PRIVATE_KEY));
  if (priv.length === 0) return null;
  if (priv.length > 1)
    throw new TokenFailure('refused', `pkcs11: ${priv.length} keys match ${where}`);
  const type = m.attribute(o.session, priv[0]!, A.KEY_TYPE).readUInt32LE(0);
  const params = m.attribute(o.session, priv[0]!, A.EC_PARAMS);
  if (type !== k.keyType || !k.params.some((p) => p.equals(params)))
    throw new TokenFailure(
      'refused',
      `pkcs11: ${where} is not an ${k.name} key (key type ${type})`,
    );
  const pub = m.find(o.session, template(t, CKO_PUBLIC_KEY));
  if (pub.length !== 1)
    throw new TokenFailure('refused', `pkcs11: ${where} has no single public key object`);
  const point = m.attribute(o.session, pub[0]!, A.EC_POINT);
  // CKA_EC_POINT is the DER OCTET STRING of the point (PKCS#11 v3.0 §2.3.3, §2.3.6); some
  // tokens store the raw bytes.
  const n = k.pointSize;
  const raw =
    point.length === n + 2 && point[0] === 0x04 && point[1] === n ? point.subarray(2) : point;
  if (raw.length !== n) throw new TokenFailure('refused', `pkcs11: ${where}: bad CKA_EC_POINT`);
  return { privateKey: priv[0]!, publicKey: new Uint8Array(raw) };
}
