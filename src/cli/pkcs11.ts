/**
 * `tilelog keygen --pkcs11 URI`: the Ed25519 key is made inside the token (or found there) and
 * only verifier keys are written. ML-DSA-44 keys stay files, since tokens do not offer ML-DSA yet.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { badRequest } from '../errors.ts';
import {
  ALG_MLDSA44,
  cosignerFromKey,
  formatVerifierKey,
  generateCosignerSecret,
  isValidKeyName,
  parseCosignerSecret,
} from '../note/index.ts';
import { generateEd25519 } from '../pkcs11/index.ts';

// writeOnce writes a public file, or leaves it if it already holds the same text.
async function writeOnce(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if ((await readFile(file, 'utf8')) !== text) throw badRequest(`${file} holds another key`);
  }
}

/**
 * tokenKeygen makes (or finds) the Ed25519 key at uri and writes OUT/log.pub (kind log: a note
 * key named name) or OUT/witness.pub (kind witness: a cosignature/v1 key); with mldsa it also
 * writes the ML-DSA-44 key file (OUT/log-mldsa.key, or OUT/witness-mldsa.key for --mldsa-key).
 * Bad input writes nothing.
 */
export async function tokenKeygen(
  kind: 'log' | 'witness',
  name: string,
  uri: string,
  out: string,
  mldsa: boolean,
): Promise<number> {
  if (!isValidKeyName(name)) throw badRequest(`invalid key name ${JSON.stringify(name)}`);
  const { publicKey, created } = await generateEd25519(uri);
  const vkey =
    kind === 'log'
      ? formatVerifierKey(name, publicKey)
      : cosignerFromKey(name, { publicKey, sign: () => new Uint8Array() }).verifierKey;
  await mkdir(out, { recursive: true });
  const lines = [vkey];
  if (mldsa) {
    const pq = generateCosignerSecret(name, ALG_MLDSA44);
    await writeFile(join(out, `${kind}-mldsa.key`), pq + '\n', { mode: 0o600, flag: 'wx' });
    lines.push(parseCosignerSecret(pq).verifierKey);
    if (kind === 'log') await writeOnce(join(out, 'log-mldsa.pub'), lines.pop()! + '\n');
  }
  await writeOnce(join(out, `${kind}.pub`), lines.join('\n') + '\n');
  if (!created) console.error(`the token already holds this key; its verifier key:`);
  console.log(lines.join('\n'));
  return 0;
}
