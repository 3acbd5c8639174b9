/**
 * Does the logged body agree with the bundle (client spec §4.4)? The signature in the body is the
 * bundle's, the key is the bundle's, and the digest is the artifact's: for a message signature
 * the bundle's digest, for a DSSE envelope logged as hashedrekord Hash(PAE(payloadType, payload))
 * with the envelope's one signature, and for a dsse 0.0.2 entry SHA-256(payload). Given the
 * artifact, an envelope's in-toto statement must list it as a subject (§4.5). Each check that
 * fails adds its own reason; none stops the others. No Node imports.
 */
import { concat, equal, fromBase64Lenient, toHex, utf8 } from '../bytes.ts';
import { digest as hashWith, sha256 } from '../crypto.ts';
import { parseJsonExact } from '../json.ts';
import { certificateSpki } from './x509.ts';

// Untrusted JSON: every field is read through b64()/need() or a typed check before use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

/** Reject is one reason a bundle is refused. */
export class Reject extends Error {}

/** need returns v, or throws naming what is missing. */
export function need<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null) throw new Reject(`${what} is missing`);
  return v;
}

/** b64 decodes a protojson bytes field, or throws naming it. */
export function b64(v: unknown, what: string): Uint8Array {
  const out = typeof v === 'string' ? fromBase64Lenient(v) : null;
  if (!out) throw new Reject(`${what} is not base64`);
  return out;
}

/** pae returns the DSSE v1 pre-authentication encoding of a payload. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concat(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

type HashAlg = 'SHA2_256' | 'SHA2_384' | 'SHA2_512';
const HASHES: readonly string[] = ['SHA2_256', 'SHA2_384', 'SHA2_512'];

/** Checker runs independent checks, keeping what passed and every reason that failed. */
export class Checker {
  readonly problems: string[] = [];
  readonly checks: string[];
  readonly at: string;
  constructor(checks: string[], at: string) {
    this.checks = checks;
    this.at = at;
  }
  /** run records f's result as a check, or its Reject as a problem. */
  run(f: () => string | void): void {
    try {
      const ok = f();
      if (ok) this.checks.push(`${this.at}: ${ok}`);
    } catch (err) {
      if (!(err instanceof Reject)) throw err;
      this.problems.push(`${this.at}: ${err.message}`);
    }
  }
}

/** verifyBody checks a hashedrekord or dsse 0.0.2 body against the bundle. */
export function verifyBody(b: J, body: J, artifact: Uint8Array | undefined, c: Checker): void {
  const kind = `${body.kind} ${body.apiVersion}`;
  if (kind === 'hashedrekord 0.0.2') {
    const spec = need(body.spec?.hashedRekordV002, 'body spec.hashedRekordV002') as J;
    if (b.dsseEnvelope !== undefined && b.messageSignature === undefined)
      return dsseAsHashedRekord(b, spec, artifact, c);
    return hashedRekord(b, spec, artifact, c);
  }
  if (kind === 'dsse 0.0.2')
    return dsse(b, need(body.spec?.dsseV002, 'spec.dsseV002'), artifact, c);
  throw new Reject(
    `unsupported entry kind ${JSON.stringify(String(body.kind))} version ${JSON.stringify(String(body.apiVersion))} (known: hashedrekord 0.0.2, dsse 0.0.2)`,
  );
}

function bodyAlgorithm(spec: J): HashAlg {
  const algorithm = spec.data?.algorithm;
  if (typeof algorithm !== 'string' || !HASHES.includes(algorithm))
    throw new Reject(`unknown digest algorithm ${JSON.stringify(algorithm)}`);
  return algorithm as HashAlg;
}

function hashedRekord(b: J, spec: J, artifact: Uint8Array | undefined, c: Checker): void {
  const ms = need(b.messageSignature, 'bundle.messageSignature (a hashedrekord entry needs one)');
  const bodyDigest = b64(spec.data?.digest, 'body data.digest');
  const algorithm = bodyAlgorithm(spec);
  c.run(() => {
    const d = b64(ms.messageDigest?.digest, 'messageSignature.messageDigest.digest');
    if (!equal(bodyDigest, d)) throw new Reject("body digest is not the bundle's message digest");
    return "hashedrekord digest is the bundle's message digest";
  });
  if (artifact)
    c.run(() => {
      if (!equal(hashWith(algorithm, artifact), bodyDigest))
        throw new Reject('artifact does not hash to the logged digest');
      return `the artifact hashes (${algorithm}) to the logged digest`;
    });
  c.run(() => sameSignature(spec.signature?.content, ms.signature, 'messageSignature.signature'));
  c.run(() => checkVerifier(b, need(spec.signature?.verifier, 'body signature.verifier')));
}

function envelopeSignature(env: J): unknown {
  const sigs = need(env.signatures, 'dsseEnvelope.signatures') as J[];
  // Client spec §4.4: envelopes with several signatures are out of scope.
  if (!Array.isArray(sigs) || sigs.length !== 1)
    throw new Reject('dsseEnvelope must have exactly one signature');
  return sigs[0]!.sig;
}

function dsseAsHashedRekord(b: J, spec: J, artifact: Uint8Array | undefined, c: Checker): void {
  const env = b.dsseEnvelope as J;
  const algorithm = bodyAlgorithm(spec);
  const payload = b64(env.payload, 'dsseEnvelope.payload');
  c.run(() => {
    if (typeof env.payloadType !== 'string')
      throw new Reject('dsseEnvelope.payloadType is missing');
    const d = hashWith(algorithm, pae(env.payloadType, payload));
    if (!equal(d, b64(spec.data?.digest, 'body data.digest')))
      throw new Reject(
        `body digest is not ${algorithm}(PAE(payloadType, payload)) of the envelope`,
      );
    return `hashedrekord digest is ${algorithm} of the envelope's PAE (client spec §4.4)`;
  });
  c.run(() => sameSignature(spec.signature?.content, envelopeSignature(env), 'envelope signature'));
  c.run(() => checkVerifier(b, need(spec.signature?.verifier, 'body signature.verifier')));
  if (artifact) c.run(() => inTotoSubject(env, payload, artifact));
}

function dsse(b: J, spec: J, artifact: Uint8Array | undefined, c: Checker): void {
  const env = need(b.dsseEnvelope, 'bundle.dsseEnvelope (a dsse entry needs one)') as J;
  const payload = b64(env.payload, 'dsseEnvelope.payload');
  c.run(() => {
    if (spec.payloadHash?.algorithm !== 'SHA2_256')
      throw new Reject('dsse payloadHash must be SHA2_256');
    if (!equal(sha256(payload), b64(spec.payloadHash.digest, 'payloadHash.digest')))
      throw new Reject('payload hash does not match the envelope payload');
    return 'dsse payload hash matches the envelope';
  });
  const sigs = need(spec.signatures, 'dsse signatures') as J[];
  c.run(() => {
    if (!Array.isArray(sigs) || sigs.length !== 1)
      throw new Reject('expected exactly one DSSE signature in the body');
    return sameSignature(sigs[0]!.content, envelopeSignature(env), 'envelope signature');
  });
  c.run(() => checkVerifier(b, need(sigs[0]?.verifier, 'dsse signature verifier')));
  if (artifact) c.run(() => inTotoSubject(env, payload, artifact));
}

function sameSignature(body: unknown, bundle: unknown, what: string): string {
  const whose = what === 'messageSignature.signature' ? "the bundle's" : "the envelope's";
  if (!equal(b64(body, 'body signature'), b64(bundle, what)))
    throw new Reject(`body signature is not ${whose} signature`);
  return `body signature is ${whose} signature`;
}

// The body's verifier must name the bundle's key: the same certificate, or the certificate's key.
function checkVerifier(b: J, v: J): string {
  const cert =
    b.verificationMaterial?.certificate?.rawBytes ??
    b.verificationMaterial?.x509CertificateChain?.certificates?.[0]?.rawBytes;
  if (cert === undefined)
    return 'bundle key is a public-key hint: the verifier key is not compared';
  const certDer = b64(cert, 'verificationMaterial.certificate.rawBytes');
  if (v.x509Certificate?.rawBytes !== undefined) {
    if (!equal(b64(v.x509Certificate.rawBytes, 'verifier.x509Certificate'), certDer))
      throw new Reject("body certificate is not the bundle's");
    return 'body certificate is the bundle certificate';
  }
  const spki = certificateSpki(certDer);
  if (!spki) throw new Reject('bundle certificate is not DER X.509');
  const key = b64(need(v.publicKey?.rawBytes, 'verifier.publicKey.rawBytes'), 'verifier.publicKey');
  if (!equal(key, spki)) throw new Reject("body public key is not the bundle certificate's key");
  return "body public key is the bundle certificate's key";
}

const IN_TOTO = 'application/vnd.in-toto+json';
const STATEMENTS = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];
const SUBJECT_HASHES = [
  ['sha256', 'SHA2_256'],
  ['sha384', 'SHA2_384'],
  ['sha512', 'SHA2_512'],
] as const;

// Client spec §4.5: the artifact's digest/algorithm pair must be a subject of the statement.
function inTotoSubject(env: J, payload: Uint8Array, artifact: Uint8Array): string {
  if (env.payloadType !== IN_TOTO)
    throw new Reject(`payloadType ${JSON.stringify(env.payloadType)} is not ${IN_TOTO}`);
  let st: J;
  try {
    st = parseJsonExact(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as J;
  } catch {
    throw new Reject('envelope payload is not JSON');
  }
  if (!STATEMENTS.includes(st?._type))
    throw new Reject('envelope payload is not an in-toto statement');
  if (!Array.isArray(st.subject) || st.subject.length === 0)
    throw new Reject('in-toto statement has no subject');
  for (const [name, alg] of SUBJECT_HASHES) {
    const want = toHex(hashWith(alg, artifact));
    const hit = (st.subject as J[]).find((s) => String(s?.digest?.[name]).toLowerCase() === want);
    if (hit)
      return `the artifact (${name}) is subject ${JSON.stringify(String(hit.name ?? '').slice(0, 80))} of the in-toto statement (client spec §4.5)`;
  }
  throw new Reject('the artifact is not a subject of the in-toto statement');
}
