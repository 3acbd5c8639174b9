/**
 * Signed-note keys (C2SP signed-note, HEAD 5ba5ee8, "Verifier keys"; same text format as
 * golang.org/x/mod/sumdb/note): a verifier key is `name+hash+base64(type ‖ public key)` and a
 * signer key `PRIVATE+KEY+name+hash+base64(type ‖ seed)`, where hash is the key ID
 * SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] in lowercase hex.
 */
import { concat, fromBase64, toBase64, utf8 } from '../bytes.ts';
import {
  ecdsaP256Verifier,
  ed25519Signer,
  ed25519Verifier,
  randomBytes,
  sha256,
} from '../crypto.ts';
import { badRequest } from '../errors.ts';

/** ALG_ED25519 is the signature type byte of Ed25519 note keys. */
export const ALG_ED25519 = 0x01;

/** ALG_ECDSA is the signature type byte of ECDSA note keys (transparency-dev formats). */
export const ALG_ECDSA = 0x02;

/** NoteVerifier checks signatures by one named key. */
export interface NoteVerifier {
  readonly name: string;
  /** keyHash is the 4-byte key ID as an unsigned integer. */
  readonly keyHash: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * Ed25519Key is an Ed25519 private key wherever it is held: in memory (a key file) or in a token
 * (PKCS#11). sign returns the 64-byte signature, or a promise of it when the key is elsewhere;
 * a promise may reject with a LogError, 'unavailable' (the key may come back: retry later) or
 * 'fatal' (it will not). Ed25519 is deterministic: signing a message again gives the same bytes.
 */
export interface Ed25519Key {
  /** publicKey is the raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * failure is the one line of a failure after which the key will not sign again until an
   * operator acts (a token's wrong PIN, a deleted key); null or absent while it can sign.
   */
  readonly failure?: string | null;
}

/**
 * Signer signs notes as one named Ed25519 key (Ed25519Key's contract): the log's checkpoint key
 * and the keys of `tilelog sign` and the witness go through it, from a file or a token alike.
 */
export interface Signer extends Ed25519Key {
  readonly name: string;
  readonly keyHash: number;
  /** verifierKey is the matching verifier key string. */
  readonly verifierKey: string;
}

/** NoteSigner is a Signer whose key is in memory (a key file): it signs at once. */
export interface NoteSigner extends Signer {
  sign(message: Uint8Array): Uint8Array;
}

/** keySigner names an Ed25519 key: the Signer of a key held elsewhere (a token). */
export function keySigner(name: string, key: Ed25519Key): Signer {
  if (!isValidKeyName(name)) throw badRequest(`note: invalid key name ${JSON.stringify(name)}`);
  const typed = concat(Uint8Array.of(ALG_ED25519), key.publicKey);
  return {
    name,
    keyHash: keyHashOf(name, typed),
    publicKey: key.publicKey,
    verifierKey: formatVerifierKey(name, key.publicKey),
    sign: (m) => key.sign(m),
    get failure() {
      return key.failure ?? null;
    },
  };
}

/**
 * isValidKeyName reports whether name can name a key: non-empty, with no '+' and no white space
 * (signed-note: "MUST be non-empty, and MUST NOT contain any Unicode spaces nor plus (U+002B)").
 */
export function isValidKeyName(name: string): boolean {
  // signed-note: key names are non-empty, with no Unicode spaces, plus signs or control characters.
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && !/[\s+]/u.test(name) && !/[\u0000-\u001f\u007f]/.test(name);
}

/** keyId returns the full 32-byte key ID SHA-256(name ‖ 0x0A ‖ type ‖ key); its first 4 bytes are the key hash. */
export function keyId(name: string, typedKey: Uint8Array): Uint8Array {
  return sha256(concat(utf8(name), Uint8Array.of(0x0a), typedKey));
}

/** keyHashOf returns the key hash of a note key: the first 4 bytes of its key ID. */
export function keyHashOf(name: string, typedKey: Uint8Array): number {
  return readKeyHash(keyId(name, typedKey));
}

/** readKeyHash reads the big-endian 4-byte key hash that starts b (a key ID or a signature). */
export function readKeyHash(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** keyHashBytes encodes a key hash as the 4 big-endian bytes that start a note signature. */
export function keyHashBytes(h: number): Uint8Array {
  return Uint8Array.of(h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255);
}

/** formatVerifierKey returns the verifier key string of an Ed25519 public key. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  const typed = concat(Uint8Array.of(ALG_ED25519), publicKey);
  return `${name}+${keyHashHex(keyHashOf(name, typed))}+${toBase64(typed)}`;
}

/** formatSignerKey returns the signer key string of an Ed25519 seed. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  const pub = ed25519Signer(seed).publicKey;
  const hash = keyHashOf(name, concat(Uint8Array.of(ALG_ED25519), pub));
  return `PRIVATE+KEY+${name}+${keyHashHex(hash)}+${toBase64(concat(Uint8Array.of(ALG_ED25519), seed))}`;
}

/** generateSignerKey returns a new random Ed25519 signer key string for name. */
export function generateSignerKey(name: string): string {
  if (!isValidKeyName(name)) throw badRequest(`note: invalid key name ${JSON.stringify(name)}`);
  return formatSignerKey(name, randomBytes(32));
}

// splitKey splits name+hash+base64 strictly, checking the name and the 8 lowercase hex digits.
function splitKey(s: string, what: string): { name: string; hash: number; key: Uint8Array } {
  // name and hash cannot contain '+'; the base64 key can.
  function bad(): never {
    throw badRequest(`note: malformed ${what}`);
  }
  const i = s.indexOf('+');
  const j = s.indexOf('+', i + 1);
  if (i < 0 || j < 0) bad();
  const [name, hex, b64] = [s.slice(0, i), s.slice(i + 1, j), s.slice(j + 1)];
  const key = fromBase64(b64);
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(hex) || !key || key.length === 0) bad();
  return { name, hash: parseInt(hex, 16), key };
}

/**
 * parseVerifierKey parses a verifier key string strictly, checking its key hash. Ed25519 (type
 * 0x01) keys are supported everywhere; ECDSA P-256 (type 0x02, key ID SHA-256(SPKI)[:4], as the
 * Rekor v1 and transparency-dev witness keys use) only on Node.
 */
export function parseVerifierKey(vkey: string): NoteVerifier & { readonly publicKey: Uint8Array } {
  const { name, hash, key } = splitKey(vkey.trim() === vkey ? vkey : '', 'verifier key');
  if (key[0] === ALG_ECDSA) {
    const spki = key.slice(1);
    if (readKeyHash(sha256(spki)) !== hash) {
      throw badRequest('note: verifier key hash does not match');
    }
    const verify = ecdsaP256Verifier(spki);
    if (!verify) throw badRequest('note: ECDSA verifier key is not a P-256 key');
    return { name, keyHash: hash, publicKey: spki, verify };
  }
  if (keyHashOf(name, key) !== hash) throw badRequest('note: verifier key hash does not match');
  if (key[0] !== ALG_ED25519) throw badRequest(`note: unsupported verifier key type ${key[0]}`);
  if (key.length !== 33) throw badRequest('note: malformed verifier key');
  const publicKey = key.slice(1);
  const verify = ed25519Verifier(publicKey);
  return { name, keyHash: hash, publicKey, verify };
}

/** parseSignerKey parses an Ed25519 signer key string strictly, checking its key hash. */
export function parseSignerKey(skey: string): NoteSigner {
  const bad = badRequest('note: malformed signer key');
  if (!skey.startsWith('PRIVATE+KEY+')) throw bad;
  const { name, hash, key } = splitKey(skey.slice('PRIVATE+KEY+'.length), 'signer key');
  if (key[0] !== ALG_ED25519 || key.length !== 33) throw bad;
  const signer = ed25519Signer(key.slice(1));
  const typed = concat(Uint8Array.of(ALG_ED25519), signer.publicKey);
  if (keyHashOf(name, typed) !== hash) throw badRequest('note: signer key hash does not match');
  return {
    name,
    keyHash: hash,
    publicKey: signer.publicKey,
    verifierKey: formatVerifierKey(name, signer.publicKey),
    sign: signer.sign,
  };
}

/** keyHashHex formats a key hash as the 8 hex digits used in key strings. */
export function keyHashHex(h: number): string {
  return h.toString(16).padStart(8, '0');
}
