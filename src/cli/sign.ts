/**
 * Signing an artifact into a Rekor v2 log with a long-lived key (`tilelog sign`), and making
 * that key (`tilelog keygen --signing`). The work is in src/sign/; this reads files and flags.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { KeyDetails } from '../entries/index.ts';
import { badRequest } from '../errors.ts';
import { generateP256, isPkcs11Uri, Pkcs11Key } from '../pkcs11/index.ts';
import {
  type ArtifactSigner,
  generateSigningKey,
  hashFile,
  keyHint,
  type LogKey,
  logKeyFromVkey,
  logKeysFromTrustedRoot,
  p256Signer,
  parseSigningKey,
  signAndLog,
  spkiPem,
} from '../sign/index.ts';
import { VKEY } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

/** sign signs an artifact, logs the signature, verifies the log's answer and writes a bundle. */
export const sign = defineCommand({
  name: 'sign',
  summary: 'Sign ARTIFACT with a key, log it in a Rekor v2 log, verify, write a sigstore bundle.',
  flags: [
    {
      name: 'key',
      type: 'string',
      arg: 'FILE|URI',
      required: true,
      help: 'the signing key: a PEM file (tilelog keygen --signing makes one) or a PKCS#11 URI of an ECDSA P-256 key',
    },
    {
      name: 'url',
      type: 'string',
      arg: 'URL',
      required: true,
      help: "the log's base URL, as a SigningConfig lists it (/api/v2/log/entries is added)",
    },
    { ...VKEY, help: "the log's verifier key (a note key string), to check its answer" },
    {
      name: 'trusted-root',
      type: 'string',
      arg: 'FILE',
      help: 'or a TrustedRoot whose tlogs[] lists the log at URL (wins over TILELOG_VKEY)',
    },
    {
      name: 'out',
      type: 'string',
      arg: 'FILE',
      help: 'where to write the bundle (default: ARTIFACT.sigstore.json)',
    },
    {
      name: 'read-url',
      type: 'string',
      arg: 'PREFIX',
      help: "the log's tiles, read when the entry is already logged (default: URL/api/v2)",
    },
  ],
  positionals: { name: 'ARTIFACT', min: 1 },
  notes: [
    'The key type chooses the algorithm: ECDSA P-256/P-384/P-521, RSA 2048/3072/4096, Ed25519(ph).',
    'A key in a PKCS#11 token (pkcs11:token=T;object=L?module-path=…&pin-source=file:…) is an',
    'ECDSA P-256 key (keygen --signing --pkcs11 makes one); the token signs the SHA-256 digest.',
    'No bundle is written unless the log took the entry and its answer verified.',
  ],
  async run({ key, url, vkey, trustedRoot, out, readUrl }, artifacts) {
    if (artifacts.length !== 1) usageError('sign takes one ARTIFACT');
    const artifact = artifacts[0]!;
    if (!URL.canParse(url)) usageError(`--url ${url} is not a URL`);
    const logKeys = await trustedKeys(url, vkey, trustedRoot);
    const token = isPkcs11Uri(key) ? await Pkcs11Key.open(key, { kind: 'p256' }) : undefined;
    try {
      const signer = token ? p256Signer(token) : parseSigningKey(await readFile(key, 'utf8'));
      return await signArtifact(signer, artifact, { url, logKeys, readUrl, out });
    } finally {
      await token?.close();
    }
  },
});

// signArtifact hashes the artifact, signs and logs it, and writes the verified bundle.
async function signArtifact(
  signer: ArtifactSigner,
  artifact: string,
  o: { url: string; logKeys: LogKey[]; readUrl?: string; out?: string },
): Promise<number> {
  const digest = await hashFile(artifact, signer.hashAlgorithm);
  const { bundle, entry } = await signAndLog({ ...o, signer, digest });
  const file = o.out ?? `${artifact}.sigstore.json`;
  // Written whole or not at all: a bundle is never half there.
  await writeFile(`${file}.tmp`, JSON.stringify(bundle, null, 2) + '\n', { flag: 'w' });
  await rename(`${file}.tmp`, file).catch(async (err: unknown) => {
    await rm(`${file}.tmp`, { force: true });
    throw err;
  });
  const cp = entry.checkpoint;
  console.log(
    `${artifact}: ${signer.keyDetails} signature logged at index ${entry.logIndex} of ${cp.origin} ` +
      `(verified in its checkpoint of size ${cp.size}); bundle ${file}`,
  );
  return 0;
}

async function trustedKeys(url: string, vkey?: string, rootFile?: string): Promise<LogKey[]> {
  if (rootFile !== undefined) {
    let root: unknown;
    try {
      root = JSON.parse(await readFile(rootFile, 'utf8'));
    } catch (err) {
      throw new Error(`${rootFile}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    return logKeysFromTrustedRoot(root, url, new Date());
  }
  if (vkey === undefined) usageError('sign needs --vkey or --trusted-root (the log key)');
  return [logKeyFromVkey(vkey)];
}

/**
 * signingKeygen writes OUT/signing.key (PKCS#8 PEM, 0600) and OUT/signing.pub (SPKI PEM); with a
 * PKCS#11 URI it makes (or finds) an ECDSA P-256 key in the token and writes only signing.pub.
 */
export async function signingKeygen(
  out: string,
  algorithm?: string,
  pkcs11?: string,
): Promise<number> {
  if (pkcs11 !== undefined) {
    if (algorithm !== undefined && algorithm !== 'PKIX_ECDSA_P256_SHA_256')
      throw badRequest('a PKCS#11 signing key is an ECDSA P-256 key (PKIX_ECDSA_P256_SHA_256)');
    const { publicKey, created } = await generateP256(pkcs11);
    const signer = p256Signer({ publicKey, sign: () => Promise.reject(new Error('unused')) });
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'signing.pub'), spkiPem(signer.publicKey), { flag: 'wx' });
    if (!created) console.error('the token already holds this key');
    console.log(`${pkcs11}: ${signer.keyDetails} key, hint ${keyHint(signer.publicKey)}`);
    return 0;
  }
  const pair = generateSigningKey(algorithm as KeyDetails | undefined);
  const signer = parseSigningKey(pair.privatePem);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'signing.key'), pair.privatePem, { mode: 0o600, flag: 'wx' });
  await writeFile(join(out, 'signing.pub'), pair.publicPem, { flag: 'wx' });
  console.log(
    `${join(out, 'signing.key')}: ${signer.keyDetails} key, hint ${keyHint(signer.publicKey)}`,
  );
  return 0;
}
