// Witness fixtures: a log key, a witness's Ed25519 and ML-DSA-44 cosigners from fixed seeds, and a
// Witness on a fresh LevelDB state that witnesses the given logs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createWitnessApp } from '../../src/api/witness.ts';
import { cosignerFromSeed } from '../../src/note/cosignature.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  type Cosigner,
  generateSignerKey,
  parseCosignerKey,
  parseSignerKey,
} from '../../src/note/index.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import { parseWitnessConfig, Witness } from '../../src/witness/index.ts';

/** logSigner returns a fresh Ed25519 log key for origin, as a string and parsed. */
export function logSigner(origin: string) {
  const skey = generateSignerKey(origin);
  return { skey, ...parseSignerKey(skey) };
}

/**
 * witnessCosigners returns a witness's Ed25519 (seed filled with seed) and ML-DSA-44 (seed + 1)
 * cosigners, named edName and pqName, with their parsed verifiers.
 */
export function witnessCosigners(edName: string, pqName: string, seed: number) {
  const ed = cosignerFromSeed(edName, ALG_COSIGNATURE_V1, new Uint8Array(32).fill(seed));
  const pq = cosignerFromSeed(pqName, ALG_MLDSA44, new Uint8Array(32).fill(seed + 1));
  const verifiers = [parseCosignerKey(ed.verifierKey), parseCosignerKey(pq.verifierKey)];
  return { ed, pq, verifiers };
}

/** openWitness opens a witness of the logs (origin, verifier key) on LevelDB state in dir. */
export async function openWitness(
  logs: readonly (readonly [string, string])[],
  cosigners: readonly Cosigner[],
  now?: () => number,
  dir = join(mkdtempSync(join(tmpdir(), 'tilelog-witness-')), 'state'),
) {
  const config = logs.map(([origin, vkey]) => `log ${origin} ${vkey}\n`).join('');
  const state = await openLocalMap(dir);
  const w = new Witness(parseWitnessConfig(config), cosigners, state, now);
  return { w, app: createWitnessApp(w), state, dir };
}
