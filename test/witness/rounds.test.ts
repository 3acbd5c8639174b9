// Witness rounds against two real `tilelog witness` servers over HTTP, quorum 2: every one of
// 500 concurrent submissions is answered with a checkpoint both witnesses cosigned, each witness
// is asked at most once per round (plus a 409 retry) and at most once per checkpoint interval, an
// idle log republishes, and a dead witness blocks publication (fail-closed) or not (fail-open).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  formatVerifierKey,
  generateCosignerSecret,
  generateSignerKey,
  openNote,
  parseCosignerKey,
  parseCosignerSecret,
  parseSignerKey,
} from '../../src/note/index.ts';
import { Log, type LogOptions } from '../../src/sequencer/index.ts';
import { type Running, startWitness } from '../../src/server.ts';
import { LevelStore } from '../../src/storage/index.ts';
import { parsePolicy, Witnessing } from '../../src/witness/index.ts';

const ORIGIN = 'log.example.test/rounds';
const logKey = parseSignerKey(generateSignerKey(ORIGIN));
const dir = mkdtempSync(join(tmpdir(), 'tilelog-rounds-'));
// Each test runs a fresh log, so each has its own origin (a witness remembers every origin).
const origins = Array.from({ length: 5 }, (_, i) => `${ORIGIN}/${i}`);
writeFileSync(
  join(dir, 'witness.cfg'),
  origins.map((o) => `log ${o} ${logKey.verifierKey}\n`).join(''),
);
let nextOrigin = 0;

interface W {
  name: string;
  data: string;
  keyFile: string;
  ed: string; // cosignature/v1 verifier key
  ml: string; // ML-DSA-44 verifier key
  listen: string;
  running?: Running;
}

function makeWitness(name: string): W {
  const secrets = [
    generateCosignerSecret(name, ALG_COSIGNATURE_V1),
    generateCosignerSecret(name, ALG_MLDSA44),
  ];
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(keyFile, secrets.join('\n') + '\n');
  const [ed, ml] = secrets.map((s) => parseCosignerSecret(s).verifierKey) as [string, string];
  return { name, data: join(dir, name), keyFile, ed, ml, listen: '127.0.0.1:0' };
}

async function up(w: W): Promise<void> {
  w.running = await startWitness({
    config: join(dir, 'witness.cfg'),
    key: w.keyFile,
    data: w.data,
    listen: w.listen,
    prefix: '',
  });
  w.listen = w.running.url.replace('http://', ''); // the same port after a restart
}

const ws = [makeWitness('w1.example.test'), makeWitness('w2.example.test')];
afterAll(async () => {
  for (const w of ws) await w.running?.close();
});

// The Ed25519 key of w1 written as a plain note key (type 0x01), as rekor-tiles' policy does.
function asNoteKey(cosignerVkey: string): string {
  const v = parseCosignerKey(cosignerVkey);
  return formatVerifierKey(v.name, v.publicKey);
}

const url = (w: W) => w.running!.url;
const onePerWitness = () =>
  `witness A ${asNoteKey(ws[0]!.ed)} ${url(ws[0]!)}\nwitness B ${ws[1]!.ml} ${url(ws[1]!)}\n` +
  'group both all A B\nquorum both\n';
const bothKeys = () =>
  `witness A1 ${ws[0]!.ed} ${url(ws[0]!)}\nwitness A2 ${ws[0]!.ml} ${url(ws[0]!)}\n` +
  `witness B1 ${ws[1]!.ed} ${url(ws[1]!)}\nwitness B2 ${ws[1]!.ml} ${url(ws[1]!)}\n` +
  'group A all A1 A2\ngroup B all B1 B2\ngroup both all A B\nquorum both\n';

// Requests to each witness, by status, counted on the wire (client side).
function countingFetch() {
  const calls: { host: string; status: number; at: number }[] = [];
  const f = (async (input: string, init?: RequestInit) => {
    const res = await globalThis.fetch(input, init);
    calls.push({ host: new URL(input).host, status: res.status, at: Date.now() });
    return res;
  }) as typeof globalThis.fetch;
  return { f, calls };
}

async function openLog(policy: string, extra: Partial<LogOptions> = {}) {
  const { f, calls } = countingFetch();
  const store = await LevelStore.open(join(mkdtempSync(join(dir, 'log-')), 'db'));
  const witnessing = new Witnessing({ policy: parsePolicy(policy), timeoutMs: 5000, fetch: f });
  const log = await Log.open(store, {
    origin: origins[nextOrigin++]!,
    signer: logKey,
    maxAgeMs: 2,
    witnessing,
    checkpointIntervalMs: 200,
    ...extra,
  });
  return { log, store, calls };
}

const verifiers = () => ws.flatMap((w) => [parseCosignerKey(w.ed), parseCosignerKey(w.ml)]);
const signers = (note: string) => new Set(openNote(note, verifiers()).sigs.map((s) => s.name));

describe('witness rounds with two real witnesses, quorum 2', () => {
  for (const [name, policy, keysEach] of [
    ['one key per witness (one of them type 0x01)', onePerWitness, 1],
    ['both keys of each witness', bothKeys, 2],
  ] as const) {
    it(`acknowledges 500 concurrent submissions, each cosigned by both (${name})`, async () => {
      for (const w of ws) if (!w.running) await up(w);
      const { log, store, calls } = await openLog(policy());
      const started = Date.now();
      const r = await Promise.all(Array.from({ length: 500 }, (_, i) => log.add(utf8(`e${i}`))));
      const elapsed = Date.now() - started;
      expect(new Set(r.map((x) => x.index)).size).toBe(500);
      // Answers share the checkpoints of a few rounds: verify each distinct one.
      for (const note of new Set(r.map((x) => x.note))) {
        expect([...signers(note)].sort()).toEqual(['w1.example.test', 'w2.example.test']);
        expect(openNote(note, verifiers()).sigs).toHaveLength(2 * keysEach);
      }
      // At most one add-checkpoint per witness per interval, plus the 409 retries.
      for (const w of ws) {
        const mine = calls.filter((c) => c.host === url(w).replace('http://', ''));
        const asked = mine.filter((c) => c.status !== 409).length;
        const conflicts = mine.length - asked;
        console.log(`${w.name}: ${asked} asked, ${conflicts} 409 retries in ${elapsed} ms`);
        expect(asked).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 1);
        expect(conflicts).toBeLessThanOrEqual(1); // a fresh log learns each witness's size once
      }
      await log.close();
      await store.close();
    }, 60_000);
  }

  it('republishes an idle log with fresh cosignatures', async () => {
    for (const w of ws) if (!w.running) await up(w);
    const republished: number[] = [];
    const { log, store } = await openLog(onePerWitness(), {
      republishIntervalMs: 300,
      events: { published: (p) => void (p.republished && republished.push(p.size)) },
    });
    await log.add(utf8('one'));
    const first = log.state.note;
    await new Promise((r) => setTimeout(r, 1500));
    expect(republished.length).toBeGreaterThanOrEqual(2);
    expect(republished.every((s) => s === 1)).toBe(true);
    expect(log.state.checkpoint.size).toBe(1);
    expect(log.state.note).not.toBe(first); // ML-DSA-44 signatures are randomized
    expect(signers(log.state.note).size).toBe(2);
    await log.close();
    await store.close();
  }, 30_000);

  it('fails closed with a witness down (503, nothing new published), then recovers', async () => {
    for (const w of ws) if (!w.running) await up(w);
    const { log, store } = await openLog(onePerWitness(), { deadlineMs: 1500, retryMs: 200 });
    await log.add(utf8('before'));
    const published = log.state.note;
    await ws[1]!.running!.close();
    ws[1]!.running = undefined;
    await expect(log.add(utf8('while down'))).rejects.toMatchObject({ code: 'unavailable' });
    expect(log.state.note).toBe(published);
    expect(log.integrated.checkpoint.size).toBe(2); // integrated, but not published
    await up(ws[1]!);
    const r = await log.add(utf8('while down'));
    expect(r.index).toBe(1);
    expect(signers(r.note).size).toBe(2);
    await log.close();
    await store.close();
  }, 30_000);

  it('fails open with a witness down: answers with the cosignatures it has', async () => {
    for (const w of ws) if (!w.running) await up(w);
    const { log, store } = await openLog(onePerWitness(), { failOpen: true });
    await ws[1]!.running!.close();
    ws[1]!.running = undefined;
    const r = await log.add(utf8('fail open'));
    expect([...signers(r.note)]).toEqual(['w1.example.test']);
    await log.close();
    await store.close();
    await up(ws[1]!);
  }, 30_000);
});
