/**
 * Trust material for sigstore clients (protobuf-specs sigstore_trustroot.proto): the whole
 * TrustedRoot and SigningConfig documents that point clients at a log, built fresh or by adding a
 * log to existing documents, as an operator does when a shard is added or a key rotated. For an
 * Ed25519 log key, logId and checkpointKeyId are the full C2SP key ID, as rekor-tiles publishes
 * them (CLIENTS.md). Every input document is checked; a bad one is a one-line LogError.
 */
import { concat, toBase64 } from '../bytes.ts';
import { ed25519SpkiDer } from '../crypto.ts';
import { badRequest } from '../errors.ts';
import { ALG_ED25519, keyId, type NoteSigner } from '../note/index.ts';

/** TRUSTED_ROOT_MEDIA_TYPE is the one the public TUF repository and sigstore-go use. */
export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
/** SIGNING_CONFIG_MEDIA_TYPE is SigningConfig v0.2, the version with rekorTlogConfig. */
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';
const ROOT_TYPES = [TRUSTED_ROOT_MEDIA_TYPE, 'application/vnd.dev.sigstore.trustedroot.v0.2+json'];

/**
 * PROPAGATION is the default delay between a key's validFor.start and the start of signing with
 * the log: CLIENTS.md ("SigningConfig support") uses the SigningConfig's validity windows so that
 * no client writes to a log before the TrustedRoot naming its key has reached every verifier.
 * One day covers clients that refresh their TUF metadata daily.
 */
export const PROPAGATION_MS = 24 * 3600 * 1000;

/** LogTrust describes one log for clients: where it is, its key, who runs it, and when. */
export interface LogTrust {
  readonly baseUrl: string;
  readonly signer: Pick<NoteSigner, 'name' | 'publicKey'>;
  /** operator is the organisation running the log, a scheme-less URI such as example.com. */
  readonly operator: string;
  readonly keyValidFrom: Date;
  readonly signingValidFrom: Date;
  readonly keyValidUntil?: Date;
  readonly signingValidUntil?: Date;
}

// Untrusted JSON documents.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

/** timestamp formats a Date as protojson formats a Timestamp with whole seconds. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function window(start: Date, end?: Date) {
  return end ? { start: timestamp(start), end: timestamp(end) } : { start: timestamp(start) };
}

/** tlogInstance is the TrustedRoot TransparencyLogInstance of a log. */
export function tlogInstance(l: LogTrust) {
  const id = toBase64(keyId(l.signer.name, concat(Uint8Array.of(ALG_ED25519), l.signer.publicKey)));
  return {
    baseUrl: l.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: toBase64(ed25519SpkiDer(l.signer.publicKey)),
      keyDetails: 'PKIX_ED25519',
      validFor: window(l.keyValidFrom, l.keyValidUntil),
    },
    logId: { keyId: id },
    checkpointKeyId: { keyId: id },
    operator: l.operator,
  };
}

/** rekorService is the SigningConfig rekorTlogUrls[] Service of a log. */
export function rekorService(l: LogTrust) {
  return {
    url: l.baseUrl,
    majorApiVersion: 2,
    validFor: window(l.signingValidFrom, l.signingValidUntil),
    operator: l.operator,
  };
}

/** checkOperator refuses an operator that is not a scheme-less URI (protobuf-specs Service). */
export function checkOperator(op: string): string {
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(\/[\x21-\x7e]*)?$/i.test(op) || op.includes('://'))
    throw badRequest(`operator ${JSON.stringify(op.slice(0, 80))} is not a scheme-less URI`);
  return op;
}

/** defaultOperator guesses the organisation from a log URL: its host without the first label. */
export function defaultOperator(baseUrl: string): string {
  const host = new URL(baseUrl).hostname;
  const labels = host.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : host;
}

function emptyRoot(): J {
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

function emptySigningConfig(): J {
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [],
    oidcUrls: [],
    rekorTlogUrls: [],
    tsaUrls: [],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

function checkDoc(doc: unknown, what: string, types: readonly string[], lists: string[]): J {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw badRequest(`${what} is not a JSON object`);
  const d = structuredClone(doc) as J;
  if (!types.includes(d.mediaType))
    throw badRequest(`${what} mediaType ${JSON.stringify(d.mediaType)} is not ${types[0]}`);
  for (const k of lists) {
    if (d[k] === undefined) d[k] = [];
    if (!Array.isArray(d[k])) throw badRequest(`${what} ${k} is not a list`);
  }
  return d;
}

/** TrustDocuments are a TrustedRoot and a SigningConfig, as JSON objects. */
export interface TrustDocuments {
  readonly trustedRoot: J;
  readonly signingConfig: J;
}

/**
 * trustDocuments adds logs to a TrustedRoot and a SigningConfig (fresh ones when none are given).
 * A tlog with the same base URL and key, or a service with the same URL, is replaced; services
 * are kept newest first, as protobuf-specs asks.
 */
export function trustDocuments(
  logs: readonly LogTrust[],
  merge: { trustedRoot?: unknown; signingConfig?: unknown } = {},
): TrustDocuments {
  const root =
    merge.trustedRoot === undefined
      ? emptyRoot()
      : checkDoc(merge.trustedRoot, 'trusted root', ROOT_TYPES, [
          'tlogs',
          'certificateAuthorities',
          'ctlogs',
          'timestampAuthorities',
        ]);
  const config =
    merge.signingConfig === undefined
      ? emptySigningConfig()
      : checkDoc(
          merge.signingConfig,
          'signing config',
          [SIGNING_CONFIG_MEDIA_TYPE],
          ['caUrls', 'oidcUrls', 'rekorTlogUrls', 'tsaUrls'],
        );
  config.rekorTlogConfig ??= { selector: 'ANY' };
  for (const l of logs) {
    checkOperator(l.operator);
    if (l.keyValidUntil && l.keyValidUntil < l.keyValidFrom)
      throw badRequest(`${l.baseUrl}: key validity ends before it starts`);
    if (l.signingValidFrom < l.keyValidFrom)
      throw badRequest(`${l.baseUrl}: signing would start before the key is valid`);
    const t = tlogInstance(l);
    const same = (x: J) =>
      x?.baseUrl === t.baseUrl && x?.publicKey?.rawBytes === t.publicKey.rawBytes;
    const at = (root.tlogs as J[]).findIndex(same);
    if (at >= 0) root.tlogs[at] = t;
    else root.tlogs.push(t);
    const s = rekorService(l);
    config.rekorTlogUrls = [s, ...(config.rekorTlogUrls as J[]).filter((x) => x?.url !== s.url)];
  }
  const start = (x: J) => Date.parse(String(x?.validFor?.start)) || 0;
  (config.rekorTlogUrls as J[]).sort((a, b) => start(b) - start(a));
  return { trustedRoot: root, signingConfig: config };
}

/**
 * endLog bounds a log already in the documents (a frozen or rotated shard): its keys' validFor
 * and its services' validFor get an end where they have none. It reports whether the log was
 * found in both documents.
 */
export function endLog(docs: TrustDocuments, baseUrl: string, keyEnd: Date, signingEnd: Date) {
  const tlogs = (docs.trustedRoot.tlogs as J[]).filter((t) => t?.baseUrl === baseUrl);
  for (const t of tlogs) {
    if (t.publicKey?.validFor && !t.publicKey.validFor.end)
      t.publicKey.validFor.end = timestamp(keyEnd);
  }
  const services = (docs.signingConfig.rekorTlogUrls as J[]).filter((x) => x?.url === baseUrl);
  for (const x of services) {
    if (x.validFor && !x.validFor.end) x.validFor.end = timestamp(signingEnd);
  }
  return { tlogs: tlogs.length > 0, services: services.length > 0 };
}

/** trustMaterial returns the tlogs[] and rekorTlogUrls[] entries for a log at baseUrl. */
export function trustMaterial(
  baseUrl: string,
  signer: Pick<NoteSigner, 'name' | 'publicKey'>,
  start: Date,
  operator = defaultOperator(baseUrl),
) {
  const l = { baseUrl, signer, operator, keyValidFrom: start, signingValidFrom: start };
  return { tlog: tlogInstance(l), rekorTlogUrl: rekorService(l) };
}
