/**
 * The Rekor v2 logs of a TrustedRoot (protobuf-specs TransparencyLogInstance): every Ed25519 key,
 * so that a log whose key was rotated (several instances with one base URL) is matched by key ID,
 * each with the identifiers an entry may name it by and its validity window. A key without
 * `validFor.start` is refused, as sigstore clients refuse it. No Node imports.
 */
import { concat, equal, fromBase64Lenient } from '../bytes.ts';
import { ed25519SpkiDer, ed25519Verifier } from '../crypto.ts';
import { ALG_ED25519, keyId, type NoteVerifier, readKeyHash } from '../note/index.ts';

/** TrustedLog is one trusted log key. */
export interface TrustedLog {
  readonly origin: string;
  readonly verifier: NoteVerifier;
  /** ids are the key IDs an entry's logId may carry: the C2SP key ID and the root's own. */
  readonly ids: readonly Uint8Array[];
  readonly start: Date;
  readonly end?: Date;
  /** label names the key in messages: origin+keyhash. */
  readonly label: string;
}

// Untrusted JSON: every field is checked before use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

// RFC 3339 as protojson writes a Timestamp: Z or an offset, optional fractional seconds.
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

function time(v: unknown): Date | null {
  if (typeof v !== 'string' || !RFC3339.test(v)) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** hashHex formats a 4-byte key hash as 8 hex digits. */
export function hashHex(h: number): string {
  return h.toString(16).padStart(8, '0');
}

/**
 * trustedLogs reads the Ed25519 logs of a trusted root; problems lists every Ed25519 log that
 * was refused, and why (v1 ECDSA logs have no checkpoints of this kind and are skipped).
 */
export function trustedLogs(root: unknown): { logs: TrustedLog[]; problems: string[] } {
  const logs: TrustedLog[] = [];
  const problems: string[] = [];
  const tlogs = (root as J | null)?.tlogs;
  if (!Array.isArray(tlogs)) return { logs, problems: ['trusted root has no tlogs'] };
  tlogs.forEach((t: J, i) => {
    if (t?.publicKey?.keyDetails !== 'PKIX_ED25519') return;
    const base = typeof t.baseUrl === 'string' ? t.baseUrl : '';
    const origin = base.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    const at = `tlogs[${i}] (${JSON.stringify(origin.slice(0, 80))})`;
    const spki = fromBase64Lenient(String(t.publicKey.rawBytes ?? ''));
    const pub = spki?.subarray(12);
    if (!spki || !pub || spki.length !== 44 || !equal(ed25519SpkiDer(pub), spki)) {
      problems.push(`${at}: publicKey.rawBytes is not an Ed25519 SPKI`);
      return;
    }
    const vf = t.publicKey.validFor as J | undefined;
    const start = time(vf?.start);
    const end = vf?.end === undefined ? undefined : time(vf.end);
    if (!start) {
      problems.push(`${at}: publicKey.validFor.start is ${vf?.start ? 'malformed' : 'missing'}`);
      return;
    }
    if (end === null || (end && end < start)) {
      problems.push(`${at}: publicKey.validFor.end is malformed or before its start`);
      return;
    }
    const id = keyId(origin, concat(Uint8Array.of(ALG_ED25519), pub));
    const hash = readKeyHash(id);
    const ids = [id];
    for (const k of [t.logId?.keyId, t.checkpointKeyId?.keyId]) {
      const b = typeof k === 'string' ? fromBase64Lenient(k) : null;
      if (b && !ids.some((x) => equal(x, b))) ids.push(b);
    }
    logs.push({
      origin,
      verifier: { name: origin, keyHash: hash, verify: ed25519Verifier(pub) },
      ids,
      start,
      ...(end ? { end } : {}),
      label: `${origin}+${hashHex(hash)}`,
    });
  });
  return { logs, problems };
}
