/**
 * Log-level verification of a Sigstore bundle's transparency-log entries (client spec, Rekor v2
 * §6.1.4): the checkpoint is signed by a trusted log key named after its origin, the inclusion
 * proof leads from the canonicalized body to that checkpoint's root, and the body is a known kind
 * that agrees with the bundle's signature, digest (or artifact) and key. Certificate chains and
 * timestamps are out of scope. No Node imports: this module runs in browsers.
 */
import { concat, equal, fromBase64Lenient } from '../bytes.ts';
import { digest as hashWith, ed25519SpkiDer, ed25519Verifier, sha256 } from '../crypto.ts';
import { checkInclusion, leafHash } from '../merkle/index.ts';
import { ALG_ED25519, keyId, type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';
import { certificateSpki } from './x509.ts';

/** BundleVerification is the outcome: valid or not, the reason, and what was checked. */
export interface BundleVerification {
  readonly valid: boolean;
  readonly reason?: string;
  readonly checks: readonly string[];
}

/** NOT_CHECKED says what this verifier leaves to others. */
export const NOT_CHECKED =
  'not checked: certificate chains, certificate validity periods, timestamps, and the artifact signature itself';

class Reject extends Error {}

// Untrusted JSON: every field is read through need()/typed checks before use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

function need<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null) throw new Reject(`${what} is missing`);
  return v;
}

function b64(v: unknown, what: string): Uint8Array {
  const out = typeof v === 'string' ? fromBase64Lenient(v) : null;
  if (!out) throw new Reject(`${what} is not base64`);
  return out;
}

/** logVerifiers builds note verifiers for the trusted root's Ed25519 logs, named by their origin. */
function trustedLogs(root: J): { verifier: NoteVerifier; origin: string; logId: Uint8Array }[] {
  const out = [];
  for (const t of (root.tlogs ?? []) as J[]) {
    if (t.publicKey?.keyDetails !== 'PKIX_ED25519') continue; // v1 ECDSA logs have no checkpoints of this kind
    const spki = fromBase64Lenient(String(t.publicKey.rawBytes ?? ''));
    const pub = spki?.subarray(12);
    if (!spki || !pub || spki.length !== 44 || !equal(ed25519SpkiDer(pub), spki)) continue;
    const origin = String(t.baseUrl ?? '')
      .replace(/^https?:\/\//, '')
      .replace(/\/+$/, '');
    const id = keyId(origin, concat(Uint8Array.of(ALG_ED25519), pub));
    const hash = ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 0;
    out.push({
      verifier: { name: origin, keyHash: hash, verify: ed25519Verifier(pub) },
      origin,
      logId: id,
    });
  }
  return out;
}

/** verifyBundle runs the log-level checks on every tlog entry of a bundle. */
export function verifyBundle(
  bundle: unknown,
  trustedRoot: unknown,
  artifact?: Uint8Array,
): BundleVerification {
  const checks: string[] = [];
  try {
    const b = need(bundle as J, 'bundle');
    const entries = need(
      b.verificationMaterial?.tlogEntries,
      'verificationMaterial.tlogEntries',
    ) as J[];
    if (!Array.isArray(entries) || entries.length === 0)
      throw new Reject('bundle has no tlog entries');
    const logs = trustedLogs(trustedRoot as J);
    if (logs.length === 0) throw new Reject('trusted root has no Ed25519 transparency log');
    entries.forEach((e, i) => verifyEntry(b, e, logs, artifact, checks, `tlogEntries[${i}]`));
    return { valid: true, checks };
  } catch (err) {
    if (err instanceof Reject) return { valid: false, reason: err.message, checks };
    return {
      valid: false,
      reason: `malformed input: ${err instanceof Error ? err.message : String(err)}`,
      checks,
    };
  }
}

function verifyEntry(
  b: J,
  e: J,
  logs: ReturnType<typeof trustedLogs>,
  artifact: Uint8Array | undefined,
  checks: string[],
  at: string,
): void {
  const proof = need(e.inclusionProof, `${at}.inclusionProof`);
  const envelope = String(
    need(proof.checkpoint?.envelope, `${at}.inclusionProof.checkpoint.envelope`),
  );
  // 1. The checkpoint: signed by a trusted key whose name is the checkpoint's origin.
  const origin = envelope.slice(0, envelope.indexOf('\n'));
  const log = logs.find((l) => l.origin === origin);
  if (!log) throw new Reject(`${at}: no trusted log has origin ${JSON.stringify(origin)}`);
  let cp;
  try {
    cp = parseCheckpoint(openNote(envelope, [log.verifier]).text);
  } catch (err) {
    throw new Reject(
      `${at}: checkpoint does not verify: ${err instanceof Error ? err.message : err}`,
    );
  }
  checks.push(
    `${at}: checkpoint ${cp.origin} size ${cp.size} signed by trusted key ${log.verifier.name}+${log.verifier.keyHash.toString(16).padStart(8, '0')}`,
  );
  if (e.logId?.keyId !== undefined && !equal(b64(e.logId.keyId, `${at}.logId.keyId`), log.logId)) {
    throw new Reject(`${at}: logId does not match the trusted log's key ID`);
  }
  // 2. Inclusion of SHA-256(0x00 ‖ canonicalizedBody) under the checkpoint's own size and root.
  const body = b64(need(e.canonicalizedBody, `${at}.canonicalizedBody`), `${at}.canonicalizedBody`);
  const index = Number(need(proof.logIndex ?? e.logIndex, `${at}.inclusionProof.logIndex`));
  if (!Number.isSafeInteger(index) || String(index) !== String(proof.logIndex ?? e.logIndex))
    throw new Reject(`${at}: bad logIndex`);
  const hashes = (need(proof.hashes, `${at}.inclusionProof.hashes`) as unknown[]).map((h, k) =>
    b64(h, `${at}.inclusionProof.hashes[${k}]`),
  );
  try {
    checkInclusion(index, cp.size, leafHash(body), hashes, cp.root);
  } catch (err) {
    throw new Reject(`${at}: inclusion proof fails: ${err instanceof Error ? err.message : err}`);
  }
  checks.push(`${at}: entry ${index} is included in checkpoint size ${cp.size}`);
  // 3. The body: a known kind and version that agrees with the rest of the bundle.
  verifyBody(b, e, body, artifact, checks, at);
}

function verifyBody(
  b: J,
  e: J,
  bodyBytes: Uint8Array,
  artifact: Uint8Array | undefined,
  checks: string[],
  at: string,
): void {
  let body: J;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bodyBytes));
  } catch {
    throw new Reject(`${at}: canonicalizedBody is not JSON`);
  }
  const kind = `${body.kind} ${body.apiVersion}`;
  if (e.kindVersion && `${e.kindVersion.kind} ${e.kindVersion.version}` !== kind) {
    throw new Reject(
      `${at}: kindVersion ${e.kindVersion.kind} ${e.kindVersion.version} does not match the body's ${kind}`,
    );
  }
  if (kind === 'hashedrekord 0.0.2')
    return verifyHashedRekord(
      b,
      need(body.spec?.hashedRekordV002, 'spec.hashedRekordV002'),
      artifact,
      checks,
      at,
    );
  if (kind === 'dsse 0.0.2')
    return verifyDsse(b, need(body.spec?.dsseV002, 'spec.dsseV002'), checks, at);
  throw new Reject(
    `${at}: unsupported entry kind ${JSON.stringify(String(body.kind))} version ${JSON.stringify(String(body.apiVersion))} (known: hashedrekord 0.0.2, dsse 0.0.2)`,
  );
}

// The body's verifier must name the bundle's key: the same certificate, or the certificate's key.
function checkVerifier(b: J, v: J, at: string): string {
  const cert =
    b.verificationMaterial?.certificate?.rawBytes ??
    b.verificationMaterial?.x509CertificateChain?.certificates?.[0]?.rawBytes;
  if (cert === undefined)
    return 'bundle key is a public-key hint: the verifier key is not compared';
  const certDer = b64(cert, 'verificationMaterial.certificate.rawBytes');
  if (v.x509Certificate?.rawBytes !== undefined) {
    if (!equal(b64(v.x509Certificate.rawBytes, 'verifier.x509Certificate'), certDer))
      throw new Reject(`${at}: body certificate is not the bundle's`);
    return 'body certificate is the bundle certificate';
  }
  const spki = certificateSpki(certDer);
  if (!spki) throw new Reject(`${at}: bundle certificate is not DER X.509`);
  if (
    !equal(
      b64(need(v.publicKey?.rawBytes, 'verifier.publicKey.rawBytes'), 'verifier.publicKey'),
      spki,
    )
  ) {
    throw new Reject(`${at}: body public key is not the bundle certificate's key`);
  }
  return "body public key is the bundle certificate's key";
}

function verifyHashedRekord(
  b: J,
  spec: J,
  artifact: Uint8Array | undefined,
  checks: string[],
  at: string,
): void {
  const ms = need(b.messageSignature, 'bundle.messageSignature (a hashedrekord entry needs one)');
  const bodyDigest = b64(spec.data?.digest, 'body data.digest');
  const algorithm = spec.data?.algorithm;
  if (!['SHA2_256', 'SHA2_384', 'SHA2_512'].includes(algorithm))
    throw new Reject(`${at}: unknown digest algorithm ${algorithm}`);
  if (!equal(bodyDigest, b64(ms.messageDigest?.digest, 'messageSignature.messageDigest.digest')))
    throw new Reject(`${at}: body digest is not the bundle's message digest`);
  if (artifact && !equal(hashWith(algorithm, artifact), bodyDigest))
    throw new Reject(`${at}: artifact does not hash to the logged digest`);
  if (
    !equal(
      b64(spec.signature?.content, 'body signature.content'),
      b64(ms.signature, 'messageSignature.signature'),
    )
  )
    throw new Reject(`${at}: body signature is not the bundle's signature`);
  checks.push(
    `${at}: hashedrekord digest${artifact ? ' (of the artifact)' : ''} and signature match the bundle; ${checkVerifier(b, need(spec.signature?.verifier, 'verifier'), at)}`,
  );
}

function verifyDsse(b: J, spec: J, checks: string[], at: string): void {
  const env = need(b.dsseEnvelope, 'bundle.dsseEnvelope (a dsse entry needs one)');
  if (spec.payloadHash?.algorithm !== 'SHA2_256')
    throw new Reject(`${at}: dsse payloadHash must be SHA2_256`);
  if (
    !equal(
      sha256(b64(env.payload, 'dsseEnvelope.payload')),
      b64(spec.payloadHash.digest, 'payloadHash.digest'),
    )
  )
    throw new Reject(`${at}: payload hash does not match the envelope payload`);
  const sigs = need(spec.signatures, 'dsse signatures') as J[];
  const envSigs = need(env.signatures, 'dsseEnvelope.signatures') as J[];
  if (sigs.length !== 1 || envSigs.length !== 1)
    throw new Reject(`${at}: expected exactly one DSSE signature`);
  if (!equal(b64(sigs[0]!.content, 'signature content'), b64(envSigs[0]!.sig, 'dsseEnvelope sig')))
    throw new Reject(`${at}: body signature is not the envelope's`);
  checks.push(
    `${at}: dsse payload hash and signature match the envelope; ${checkVerifier(b, need(sigs[0]!.verifier, 'verifier'), at)}`,
  );
}
