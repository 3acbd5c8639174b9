/**
 * Cosignatures (C2SP tlog-cosignature, HEAD 5ba5ee8): note signatures by witnesses over a
 * checkpoint, as a timestamped_signature (u64 big-endian timestamp ‖ signature). Two types:
 * Ed25519 (key type 0x04) signs "cosignature/v1\ntime <t>\n" ‖ checkpoint body; ML-DSA-44 (0x06)
 * signs the binary cosigned_message "subtree/v1\n\0" ‖ name ‖ timestamp ‖ origin ‖ start=0 ‖
 * end=size ‖ root, which also commits to the cosigner's name.
 */
import { concat, fromBase64, readU64be, toBase64, u64be, utf8 } from '../bytes.ts';
import {
  ed25519Signer,
  ed25519Verifier,
  mlDsa44Signer,
  mlDsa44Verifier,
  randomBytes,
} from '../crypto.ts';
import { badRequest } from '../errors.ts';
import { parseCheckpoint } from './checkpoint.ts';
import {
  type Ed25519Key,
  isValidKeyName,
  keyHashBytes,
  keyHashHex,
  keyHashOf,
  type NoteVerifier,
} from './keys.ts';

/** ALG_COSIGNATURE_V1 is the key type byte of Ed25519 cosignatures. */
export const ALG_COSIGNATURE_V1 = 0x04;
/** ALG_MLDSA44 is the key type byte of ML-DSA-44 cosignatures. */
export const ALG_MLDSA44 = 0x06;

const PUBLIC_SIZE = { [ALG_COSIGNATURE_V1]: 32, [ALG_MLDSA44]: 1312 } as const;
type CosignAlg = keyof typeof PUBLIC_SIZE;

function hashOf(name: string, alg: number, pub: Uint8Array): number {
  return keyHashOf(name, concat(Uint8Array.of(alg), pub));
}

/** cosignedMessage returns the bytes a cosigner of type alg signs for a checkpoint note text. */
export function cosignedMessage(
  alg: CosignAlg,
  name: string,
  text: string,
  timestamp: number,
): Uint8Array {
  if (alg === ALG_COSIGNATURE_V1) return utf8(`cosignature/v1\ntime ${timestamp}\n${text}`);
  const cp = parseCheckpoint(text);
  return subtreeMessage(name, timestamp, cp.origin, 0, cp.size, cp.root);
}

/**
 * subtreeMessage returns the ML-DSA-44 cosigned_message for the subtree [start, end) of origin
 * with hash (tlog-cosignature, "ML-DSA-44 signed message"); a checkpoint is the subtree [0, size).
 */
export function subtreeMessage(
  name: string,
  timestamp: number,
  origin: string,
  start: number,
  end: number,
  hash: Uint8Array,
): Uint8Array {
  const lp = (b: Uint8Array) => {
    if (b.length < 1 || b.length > 255)
      throw badRequest('note: cosigned name or origin must be 1 to 255 bytes');
    return concat(Uint8Array.of(b.length), b);
  };
  return concat(
    utf8('subtree/v1\n\0'),
    lp(utf8(name)),
    u64be(timestamp),
    lp(utf8(origin)),
    u64be(start),
    u64be(end),
    hash,
  );
}

/** CosignatureVerifier verifies one cosigner's signatures and reports their timestamps. */
export interface CosignatureVerifier extends NoteVerifier {
  readonly alg: CosignAlg;
  readonly publicKey: Uint8Array;
}

/** parseCosignerKey parses a cosigner verifier key (type 0x04 or 0x06) strictly. */
export function parseCosignerKey(vkey: string): CosignatureVerifier {
  const bad = badRequest('note: malformed cosigner key');
  const parts = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey);
  if (!parts || !isValidKeyName(parts[1]!)) throw bad;
  const [, name, hex, b64] = parts as unknown as [string, string, string, string];
  const key = fromBase64(b64);
  const alg = key?.[0];
  if (
    !key ||
    (alg !== ALG_COSIGNATURE_V1 && alg !== ALG_MLDSA44) ||
    key.length !== 1 + PUBLIC_SIZE[alg]
  )
    throw bad;
  const pub = key.slice(1);
  const keyHash = parseInt(hex, 16);
  if (hashOf(name, alg, pub) !== keyHash)
    throw badRequest('note: cosigner key hash does not match');
  const check = alg === ALG_COSIGNATURE_V1 ? ed25519Verifier(pub) : mlDsa44Verifier(pub);
  return {
    name,
    keyHash,
    alg,
    publicKey: pub,
    verify(text, sig) {
      const timestamp = readU64be(sig);
      if (timestamp === null || timestamp === 0) return false;
      try {
        return check(
          cosignedMessage(alg, name, new TextDecoder().decode(text), timestamp),
          sig.subarray(8),
        );
      } catch {
        return false;
      }
    },
  };
}

/** cosignatureTimestamp returns the timestamp of a cosignature line's base64 field. */
export function cosignatureTimestamp(base64: string): number | null {
  const raw = fromBase64(base64);
  return raw && raw.length >= 12 ? readU64be(raw, 4) : null;
}

/**
 * Cosigner signs checkpoints as a witness. cosign returns the signature line for a checkpoint
 * note text at a POSIX timestamp, or a promise of it when the key is in a token; the promise
 * rejects as Ed25519Key.sign does.
 */
export interface Cosigner {
  readonly name: string;
  readonly alg: CosignAlg;
  readonly verifierKey: string;
  cosign(text: string, timestamp: number): string | Promise<string>;
  /**
   * cosignSubtree returns the signature line for the subtree [start, end) of origin with hash, at
   * timestamp 0 (tlog-witness, "sign-subtree"); only ML-DSA-44 cosigners (key files) have it.
   */
  readonly cosignSubtree?: (origin: string, start: number, end: number, hash: Uint8Array) => string;
}

/** SeedCosigner is a Cosigner whose key is in memory: it cosigns at once. */
export interface SeedCosigner extends Cosigner {
  cosign(text: string, timestamp: number): string;
}

function cosignerOf<T>(
  name: string,
  alg: CosignAlg,
  key: { publicKey: Uint8Array; sign(m: Uint8Array): T },
  line: (sig: T, format: (sig: Uint8Array) => string) => string | Promise<string>,
): Cosigner {
  if (!isValidKeyName(name)) throw badRequest(`note: invalid key name ${JSON.stringify(name)}`);
  const keyHash = hashOf(name, alg, key.publicKey);
  const hashBytes = keyHashBytes(keyHash);
  return {
    name,
    alg,
    verifierKey: `${name}+${keyHashHex(keyHash)}+${toBase64(concat(Uint8Array.of(alg), key.publicKey))}`,
    cosign: (text: string, timestamp: number) =>
      line(
        key.sign(cosignedMessage(alg, name, text, timestamp)),
        (sig) => `\u2014 ${name} ${toBase64(concat(hashBytes, u64be(timestamp), sig))}\n`,
      ),
  };
}

/** cosignerFromSeed makes a cosigner of type alg named name from a 32-byte seed. */
export function cosignerFromSeed(name: string, alg: CosignAlg, seed: Uint8Array): SeedCosigner {
  const s = alg === ALG_COSIGNATURE_V1 ? ed25519Signer(seed) : mlDsa44Signer(seed);
  const c = cosignerOf(name, alg, s, (sig, format) => format(sig)) as SeedCosigner;
  if (alg !== ALG_MLDSA44) return c;
  const hashBytes = keyHashBytes(hashOf(name, alg, s.publicKey));
  return {
    ...c,
    cosignSubtree(origin, start, end, hash) {
      const sig = s.sign(subtreeMessage(name, 0, origin, start, end, hash));
      return `\u2014 ${name} ${toBase64(concat(hashBytes, u64be(0), sig))}\n`;
    },
  };
}

/** cosignerFromKey makes an Ed25519 (cosignature/v1) cosigner of a key held elsewhere (a token). */
export function cosignerFromKey(name: string, key: Ed25519Key): Cosigner {
  return cosignerOf(name, ALG_COSIGNATURE_V1, key, async (sig, format) => format(await sig));
}

/** formatCosignerSecret returns the secret key string of a cosigner: PRIVATE+KEY+name+hash+base64(type ‖ seed). */
export function formatCosignerSecret(name: string, alg: CosignAlg, seed: Uint8Array): string {
  const c = cosignerFromSeed(name, alg, seed);
  const hash = c.verifierKey.split('+')[1];
  return `PRIVATE+KEY+${name}+${hash}+${toBase64(concat(Uint8Array.of(alg), seed))}`;
}

/** generateCosignerSecret returns a new random cosigner secret key string. */
export function generateCosignerSecret(name: string, alg: CosignAlg): string {
  return formatCosignerSecret(name, alg, randomBytes(32));
}

/** parseCosignerSecret parses a cosigner secret key string, checking its key hash. */
export function parseCosignerSecret(skey: string): SeedCosigner {
  const m = /^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(skey);
  const raw = m ? fromBase64(m[3]!) : null;
  const alg = raw?.[0];
  if (!m || !raw || raw.length !== 33 || (alg !== ALG_COSIGNATURE_V1 && alg !== ALG_MLDSA44)) {
    throw badRequest('note: malformed cosigner secret key');
  }
  const c = cosignerFromSeed(m[1]!, alg, raw.slice(1));
  if (c.verifierKey.split('+')[1] !== m[2])
    throw badRequest('note: cosigner secret key hash does not match');
  return c;
}
