/**
 * Where a signer gets the log's key: a signed-note verifier key, or the TrustedRoot `tlogs[]`
 * entries whose `baseUrl` is the log's URL (sigstore protobuf-specs TransparencyLogInstance; the
 * client spec §2.1.9: the log public key is provided out of band). No Node imports.
 */
import { concat, equal, fromBase64Lenient } from '../bytes.ts';
import { ed25519SpkiDer, ed25519Verifier, sha256 } from '../crypto.ts';
import { badRequest } from '../errors.ts';
import { ALG_ED25519, keyId, parseVerifierKey, readKeyHash } from '../note/index.ts';
import type { LogKey } from './entry.ts';

/**
 * logKeyFromVkey turns a verifier key string into a LogKey. Its log ID follows rekor-tiles:
 * the C2SP key ID SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key) for Ed25519, SHA-256(SPKI) for ECDSA.
 */
export function logKeyFromVkey(vkey: string): LogKey {
  const verifier = parseVerifierKey(vkey);
  const pub = verifier.publicKey;
  const logId =
    pub.length === 32 ? keyId(verifier.name, concat(Uint8Array.of(ALG_ED25519), pub)) : sha256(pub);
  return { verifier, logId };
}

/** trimUrl drops the trailing slashes of a base URL, as SigningConfig and TrustedRoot differ. */
export function trimUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

// Untrusted JSON, read field by field.
type J = Record<string, unknown>;
const asObj = (v: unknown): J =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as J) : {};

/**
 * logKeysFromTrustedRoot returns the keys of the log at url that a TrustedRoot trusts at `now`:
 * Ed25519 keys (Rekor v2 logs sign checkpoints with Ed25519) whose validFor has a start (sigstore
 * clients refuse a key without one) and covers now. The key's name is the baseUrl without its
 * scheme, the checkpoint origin Rekor v2 uses; its log ID is the entry's logId when it has one.
 */
export function logKeysFromTrustedRoot(root: unknown, url: string, now: Date): LogKey[] {
  const tlogs = asObj(root).tlogs;
  if (!Array.isArray(tlogs)) throw badRequest('trusted root has no tlogs[]');
  const mine = tlogs.map(asObj).filter((t) => trimUrl(String(t.baseUrl ?? '')) === trimUrl(url));
  if (mine.length === 0) {
    const listed = tlogs.map((t) => String(asObj(t).baseUrl)).join(', ');
    throw badRequest(
      `trusted root lists no log at ${trimUrl(url)} (it lists: ${listed || 'none'})`,
    );
  }
  const keys: LogKey[] = [];
  const refused: string[] = [];
  for (const t of mine) {
    const key = ed25519Key(t, now);
    if (typeof key === 'string') refused.push(key);
    else keys.push(key);
  }
  if (keys.length === 0)
    throw badRequest(`trusted root has no usable key for ${trimUrl(url)}: ${refused.join('; ')}`);
  return keys;
}

// ed25519Key reads one tlogs[] entry, or says in a few words why it cannot be used.
function ed25519Key(t: J, now: Date): LogKey | string {
  const pk = asObj(t.publicKey);
  if (pk.keyDetails !== 'PKIX_ED25519') return `key type ${String(pk.keyDetails)} is not Ed25519`;
  const spki = typeof pk.rawBytes === 'string' ? fromBase64Lenient(pk.rawBytes) : null;
  const pub = spki?.subarray(12);
  if (!spki || !pub || spki.length !== 44 || !equal(ed25519SpkiDer(pub), spki))
    return 'publicKey.rawBytes is not an Ed25519 SubjectPublicKeyInfo';
  const valid = asObj(pk.validFor);
  const start = typeof valid.start === 'string' ? Date.parse(valid.start) : NaN;
  const end = typeof valid.end === 'string' ? Date.parse(valid.end) : Infinity;
  if (Number.isNaN(start)) return 'the key has no validFor.start';
  if (Number.isNaN(end)) return 'validFor.end is not a time';
  if (now.getTime() < start || now.getTime() >= end)
    return `the key is valid from ${String(valid.start)} to ${String(valid.end ?? 'no end')}, not now`;
  const name = trimUrl(String(t.baseUrl)).replace(/^https?:\/\//, '');
  const computed = keyId(name, concat(Uint8Array.of(ALG_ED25519), pub));
  const listed = asObj(t.logId).keyId;
  const logId = typeof listed === 'string' ? fromBase64Lenient(listed) : computed;
  if (!logId || logId.length !== 32) return 'logId.keyId is not 32 bytes of base64';
  const keyHash = readKeyHash(computed);
  return { verifier: { name, keyHash, verify: ed25519Verifier(new Uint8Array(pub)) }, logId };
}
