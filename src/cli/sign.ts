/**
 * Signing an artifact into a Rekor v2 log with a long-lived key (`tilelog sign`), and making
 * that key (`tilelog keygen --signing`). The work is in src/sign/; this reads files and flags.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { KeyDetails } from '../entries/index.ts';
import {
  generateSigningKey,
  hashFile,
  keyHint,
  type LogKey,
  logKeyFromVkey,
  logKeysFromTrustedRoot,
  parseSigningKey,
  signAndLog,
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
      arg: 'FILE',
      required: true,
      help: 'the signing key (PEM; tilelog keygen --signing makes one)',
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
    'No bundle is written unless the log took the entry and its answer verified.',
  ],
  async run({ key, url, vkey, trustedRoot, out, readUrl }, artifacts) {
    if (artifacts.length !== 1) usageError('sign takes one ARTIFACT');
    const artifact = artifacts[0]!;
    if (!URL.canParse(url)) usageError(`--url ${url} is not a URL`);
    const logKeys = await trustedKeys(url, vkey, trustedRoot);
    const signer = parseSigningKey(await readFile(key, 'utf8'));
    const digest = await hashFile(artifact, signer.hashAlgorithm);
    const { bundle, entry } = await signAndLog({ url, signer, digest, logKeys, readUrl });
    const file = out ?? `${artifact}.sigstore.json`;
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
  },
});

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

/** signingKeygen writes OUT/signing.key (PKCS#8 PEM, 0600) and OUT/signing.pub (SPKI PEM). */
export async function signingKeygen(out: string, algorithm?: string): Promise<number> {
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
