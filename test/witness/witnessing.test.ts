// Log-side witnessing: a log asks two tilelog witnesses for every checkpoint and publishes the
// cosigned checkpoint once the policy's quorum is met.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { createWitnessApp } from '../../src/api/witness.ts';
import { utf8 } from '../../src/bytes.ts';
import { cosignerFromSeed } from '../../src/note/cosignature.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  formatVerifierKey,
  generateSignerKey,
  openNote,
  parseCosignerKey,
  parseSignerKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { LevelStore, openLocalMap } from '../../src/storage/index.ts';
import { parsePolicy, parseWitnessConfig, Witness, Witnessing } from '../../src/witness/index.ts';
import { quorumMet } from '../../src/witness/policy.ts';

const ORIGIN = 'log.example.test/witnessed';
const logKey = parseSignerKey(generateSignerKey(ORIGIN));
const w1 = cosignerFromSeed('w1.example.test', ALG_COSIGNATURE_V1, new Uint8Array(32).fill(11));
const w2 = cosignerFromSeed('w2.example.test', ALG_MLDSA44, new Uint8Array(32).fill(12));

async function witnessApp(c: typeof w1) {
  const state = await openLocalMap(join(mkdtempSync(join(tmpdir(), 'tilelog-w-')), 'state'));
  return createWitnessApp(
    new Witness(parseWitnessConfig(`log ${ORIGIN} ${logKey.verifierKey}`), [c], state),
  );
}

const policy = `log ${logKey.verifierKey}\nwitness A ${w1.verifierKey} http://w1.test\nwitness B ${w2.verifierKey} http://w2.test\ngroup both all A B\nquorum both\n`;

describe('log-side witnessing', () => {
  it('publishes checkpoints cosigned by the quorum, also after a restart', async () => {
    const apps = { 'w1.test': await witnessApp(w1), 'w2.test': await witnessApp(w2) };
    let down = false;
    const fetch = (async (url: string, init?: RequestInit) => {
      const u = new URL(url);
      if (down && u.host === 'w2.test') throw new Error('connection refused');
      return apps[u.host as keyof typeof apps].request(u.pathname, init);
    }) as typeof globalThis.fetch;
    const dir = join(mkdtempSync(join(tmpdir(), 'tilelog-wl-')), 'db');
    let store = await LevelStore.open(dir);
    const witnessing = new Witnessing({ policy: parsePolicy(policy), timeoutMs: 2000, fetch });
    const o = { origin: ORIGIN, signer: logKey, maxAgeMs: 2, witnessing, deadlineMs: 4000 };
    let log = await Log.open(store, o);
    const keys = [parseCosignerKey(w1.verifierKey), parseCosignerKey(w2.verifierKey)];
    for (let round = 0; round < 3; round++) {
      const r = await Promise.all(
        Array.from({ length: 50 }, (_, i) => log.add(utf8(`r${round} e${i}`))),
      );
      const cosigned = openNote(r[0]!.note, keys);
      expect(cosigned.sigs.map((s) => s.name)).toEqual(['w1.example.test', 'w2.example.test']);
    }
    const served = await (await createApp(log).request('/api/v2/checkpoint')).text();
    expect(openNote(served, keys).sigs).toHaveLength(2);
    await log.close();
    await store.close();
    store = await LevelStore.open(dir);
    log = await Log.open(store, o);
    expect(openNote(log.state.note, keys).sigs).toHaveLength(2);
    // One witness down: no quorum, so the entry is refused (fail closed)…
    down = true;
    await expect(log.add(utf8('while w2 is down'))).rejects.toMatchObject({ code: 'unavailable' });
    await log.close();
    // …unless the log fails open.
    const open = await Log.open(store, { ...o, failOpen: true });
    const r = await open.add(utf8('fail open'));
    expect(openNote(r.note, keys).sigs.map((s) => s.name)).toEqual(['w1.example.test']);
    await open.close();
    await store.close();
  });

  it('evaluates quorum rules with thresholds and nested groups', () => {
    const p = parsePolicy(
      `witness X1 ${w1.verifierKey}\nwitness X2 ${w2.verifierKey}\nwitness X3 ${cosignerFromSeed('w3', ALG_COSIGNATURE_V1, new Uint8Array(32).fill(13)).verifierKey}\ngroup X 2 X1 X2 X3\ngroup top any X\nquorum top\n`,
    );
    expect(quorumMet(p, new Set(['X1']))).toBe(false);
    expect(quorumMet(p, new Set(['X1', 'X3']))).toBe(true);
    expect(quorumMet(parsePolicy('quorum none'), new Set())).toBe(true);
    expect(() => parsePolicy('group g 1 nobody\nquorum g')).toThrow(/unknown member/);
    expect(() => parsePolicy(`witness A ${w1.verifierKey}`)).toThrow(/no quorum/);
    // tlog-policy: a name is a group member at most once; a key is on one witness line only.
    expect(() => parsePolicy(`witness A ${w1.verifierKey}\ngroup g 1 A A\nquorum g`)).toThrow(
      /member A is listed twice/,
    );
    expect(() =>
      parsePolicy(`witness A ${w1.verifierKey}\nwitness B ${w1.verifierKey}\nquorum A`),
    ).toThrow(/already listed/);
    // A type 0x01 (plain Ed25519 note) key names the cosignature/v1 key of the same public key.
    const v = parseCosignerKey(w1.verifierKey);
    const p01 = parsePolicy(`witness A ${formatVerifierKey(v.name, v.publicKey)}\nquorum A`);
    expect(p01.witnesses[0]!.verifier.keyHash).toBe(v.keyHash);
    expect(() =>
      parsePolicy(
        `witness A ${w1.verifierKey}\nwitness B ${formatVerifierKey(v.name, v.publicKey)}\nquorum A`,
      ),
    ).toThrow(/already listed/);
  });

  it('parses the real tesseract staging policy', async () => {
    const { readFileSync } = await import('node:fs');
    const p = parsePolicy(
      readFileSync('spec-vectors/witness-policy/tesseract-staging.policy', 'utf8'),
    );
    expect(p.witnesses.length).toBeGreaterThan(3);
    expect(p.quorum).toBe('dev_grp');
  });
});
