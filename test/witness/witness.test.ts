import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { createWitnessApp } from '../../src/api/witness.ts';
import { toBase64, utf8 } from '../../src/bytes.ts';
import { leafHash } from '../../src/merkle/index.ts';
import { cosignerFromSeed } from '../../src/note/cosignature.ts';
import {
  ALG_MLDSA44,
  formatCheckpoint,
  type NoteSigner,
  openNote,
  parseCosignerKey,
} from '../../src/note/index.ts';
import { signNote } from '../../src/note/note.ts';
import { Log } from '../../src/sequencer/index.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { proveConsistency } from '../../src/tiles/index.ts';
import { parseWitnessConfig, Witness } from '../../src/witness/index.ts';
import { TiledTree } from '../helpers/tiled.ts';
import { logSigner, openWitness, witnessCosigners } from '../helpers/witness.ts';

const ORIGIN = 'log.example.test/w';
const logKey = logSigner(ORIGIN);
const {
  ed,
  pq,
  verifiers: cosigners,
} = witnessCosigners('witness.example.test/ed', 'witness.example.test/pq', 3);

async function witness(dir?: string) {
  const {
    app,
    state,
    dir: d,
  } = await openWitness([[ORIGIN, logKey.verifierKey]], [ed, pq], () => 1767139200, dir);
  return { app, state, dir: d };
}

// A tree we control, to make checkpoints and proofs (and forks) at will.
function tree(prefix: string, n: number) {
  const t = new TiledTree();
  t.append(Array.from({ length: n }, (_, i) => utf8(`${prefix} ${i}`)));
  return t;
}

async function checkpoint(
  t: TiledTree,
  size: number,
  signer: NoteSigner = logKey,
): Promise<string> {
  const { readTreeHash } = await import('../../src/tiles/index.ts');
  const root = await readTreeHash(t.fetch, size);
  return signNote(formatCheckpoint({ origin: ORIGIN, size, root, extensions: [] }), [signer]);
}

async function request(t: TiledTree, old: number, size: number, note?: string): Promise<string> {
  const proof = old > 0 ? await proveConsistency(t.fetch, old, size) : [];
  return `old ${old}\n${proof.map((h) => toBase64(h) + '\n').join('')}\n${note ?? (await checkpoint(t, size))}`;
}

const post = (app: ReturnType<typeof createWitnessApp>, body: string) =>
  app.request('/add-checkpoint', { method: 'POST', body });

describe('tlog-witness add-checkpoint', () => {
  it('cosigns consistent checkpoints with Ed25519 and ML-DSA-44, and persists its state', async () => {
    const { app, state, dir } = await witness();
    const t = tree('a', 300);
    let r = await post(app, await request(t, 0, 10));
    expect(r.status).toBe(200);
    const lines = await r.text();
    const note = await checkpoint(t, 10);
    const cosigned = openNote(note + lines, cosigners);
    expect(cosigned.sigs.map((s) => s.name)).toEqual([
      'witness.example.test/ed',
      'witness.example.test/pq',
    ]);
    r = await post(app, await request(t, 10, 300));
    expect(r.status).toBe(200);
    // Restart: the recorded size survives.
    await state.close();
    const again = await witness(dir);
    r = await post(again.app, await request(t, 10, 300));
    expect(r.status).toBe(409);
    expect(r.headers.get('content-type')).toBe('text/x.tlog.size');
    expect(await r.text()).toBe('300\n');
    expect((await post(again.app, await request(t, 300, 300))).status).toBe(200);
    await again.state.close();
  });

  it('answers each failure with the status the spec gives, and changes nothing', async () => {
    const { app, state } = await witness();
    const t = tree('a', 100);
    expect((await post(app, await request(t, 0, 50))).status).toBe(200);
    const other = logSigner(ORIGIN);
    const cases: [string, string, number][] = [
      [
        'unknown origin',
        `old 0\n\n${signNote('other.origin\n1\n' + toBase64(leafHash(utf8('x'))) + '\n', [other])}`,
        404,
      ],
      ['untrusted key only', await request(t, 50, 60, await checkpoint(t, 60, other)), 403],
      [
        'bad signature by the trusted key',
        await request(t, 50, 60, (await checkpoint(t, 60)).replace('\n60\n', '\n61\n')),
        403,
      ],
      ['old above size', await request(t, 0, 40).then((b) => b.replace('old 0', 'old 45')), 400],
      ['stale old size', await request(t, 40, 60), 409],
      ['bad proof', (await request(t, 50, 60)).replace(/^old 50\n./, 'old 50\nA'), 422],
      [
        'same size, different root (a fork)',
        await request(tree('b', 100), 50, 50).then((b) => b.replace('old 50\n', 'old 50\n')),
        422,
      ],
      ['fork at a larger size', await request(tree('b', 100), 50, 70), 422],
      ['no blank line', 'old 0\n', 400],
      ['bad old line', 'old 01\n\n' + (await checkpoint(t, 60)), 400],
      ['leading space', ' old 0\n\n' + (await checkpoint(t, 60)), 400],
      ['proof line not a hash', 'old 50\nnot-base64\n\n' + (await checkpoint(t, 60)), 400],
      [
        '64 proof lines',
        `old 50\n${(toBase64(new Uint8Array(32)) + '\n').repeat(64)}\n${await checkpoint(t, 60)}`,
        400,
      ],
    ];
    for (const [name, body, status] of cases) {
      const r = await post(app, body);
      expect(r.status, name).toBe(status);
    }
    const huge = await post(app, 'old 0\n' + 'x'.repeat(70_000));
    expect(huge.status).toBe(413);
    // Still at 50: nothing above changed the state.
    const r = await post(app, await request(t, 0, 60));
    expect(await r.text()).toBe('50\n');
    await state.close();
  });

  it('never cosigns two checkpoints from the same old size, however requests race', async () => {
    const { app, state } = await witness();
    const t = tree('a', 500);
    const bodies = await Promise.all([100, 200, 300, 400, 500].map((n) => request(t, 0, n)));
    const answers = await Promise.all(bodies.map((b) => post(app, b)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 409)).toHaveLength(4);
    await state.close();
  });

  it('checks a size-0 checkpoint against the empty root', async () => {
    const { app, state } = await witness();
    const bad = signNote(`${ORIGIN}\n0\n${toBase64(new Uint8Array(32))}\n`, [logKey]);
    expect((await post(app, `old 0\n\n${bad}`)).status).toBe(422);
    const good = signNote(`${ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`, [logKey]);
    expect((await post(app, `old 0\n\n${good}`)).status).toBe(200);
    await state.close();
  });

  it('witnesses a running tilelog log from its own proof endpoint', async () => {
    const { app: w, state } = await witness();
    const log = await Log.open(new MemoryStore(), { origin: ORIGIN, signer: logKey, maxAgeMs: 1 });
    const api = createApp(log);
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.add(utf8(`e${i}`))));
    const first = log.state;
    expect((await post(w, `old 0\n\n${first.note}`)).status).toBe(200);
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.add(utf8(`f${i}`))));
    const res = await api.request(
      `/api/v2/proof/consistency?firstSize=${first.checkpoint.size}&lastSize=${log.state.checkpoint.size}`,
    );
    const proof = ((await res.json()) as { hashes: string[] }).hashes;
    const r = await post(
      w,
      `old ${first.checkpoint.size}\n${proof.map((h) => h + '\n').join('')}\n${log.state.note}`,
    );
    expect(r.status).toBe(200);
    expect(openNote(log.state.note + (await r.text()), cosigners).sigs).toHaveLength(2);
    await state.close();
  });
});

describe('witness config', () => {
  it('parses log lines and names the bad line', () => {
    expect(parseWitnessConfig(`log ${ORIGIN} ${logKey.verifierKey}`)[0]!.origin).toBe(ORIGIN);
    expect(() => parseWitnessConfig('log only-origin')).toThrow(/line 1/);
    expect(() => parseWitnessConfig(`# c\n\nlog ${ORIGIN} nonsense+00000000+AAAA`)).toThrow(
      /line 3/,
    );
    expect(() => parseWitnessConfig('')).toThrow(/no logs/);
  });
});

describe("the log's own ML-DSA-44 cosignature", () => {
  it('appears on every checkpoint, verifies, and does not disturb the Ed25519 signature', async () => {
    const own = cosignerFromSeed(ORIGIN, ALG_MLDSA44, new Uint8Array(32).fill(7));
    const log = await Log.open(new MemoryStore(), {
      origin: ORIGIN,
      signer: logKey,
      maxAgeMs: 1,
      cosigners: [own],
    });
    const r = await log.add(utf8('pq'));
    const lines = r.note.split('\n').filter((l) => l.startsWith('\u2014 '));
    expect(lines).toHaveLength(2);
    expect(openNote(r.note, [parseCosignerKey(own.verifierKey)]).sigs).toHaveLength(1);
    const { parseVerifierKey } = await import('../../src/note/index.ts');
    expect(openNote(r.note, [parseVerifierKey(logKey.verifierKey)]).sigs).toHaveLength(1);
  });
});

describe('a log that signs its checkpoints with ML-DSA-44 only', () => {
  it('can be configured and is checked; unsigned extension lines are refused', async () => {
    const own = cosignerFromSeed(ORIGIN, ALG_MLDSA44, new Uint8Array(32).fill(8));
    const config = parseWitnessConfig(`log ${ORIGIN} ${own.verifierKey}\n`);
    const state = await openLocalMap(join(mkdtempSync(join(tmpdir(), 'tilelog-pqlog-')), 's'));
    const app = createWitnessApp(new Witness(config, [ed, pq], state, () => 1767139200));
    const { readTreeHash } = await import('../../src/tiles/index.ts');
    const t = tree('a', 30);
    const cp = async (size: number, extensions: string[] = []) => {
      const text = formatCheckpoint({
        origin: ORIGIN,
        size,
        root: await readTreeHash(t.fetch, size),
        extensions,
      });
      return `${text}\n${own.cosign(text, 1767139100)}`;
    };
    expect((await post(app, `old 0\n\n${await cp(10)}`)).status).toBe(200);
    // Signed by the Ed25519 key of the same name: not a key of this log.
    expect((await post(app, await request(t, 10, 20))).status).toBe(403);
    const forged = (await cp(20)).replace(/\n20\n/, '\n21\n');
    expect((await post(app, `old 10\n\n${forged}`)).status).toBe(403);
    expect((await post(app, await request(t, 10, 20, await cp(20, ['ext'])))).status).toBe(403);
    expect((await post(app, await request(t, 10, 20, await cp(20)))).status).toBe(200);
    await state.close();
  });
});

describe('witness input fuzzing', () => {
  it('answers every malformed body with a 4xx and keeps its state', async () => {
    const fc = (await import('fast-check')).default;
    const { app, state } = await witness();
    const t = tree('a', 20);
    expect((await post(app, await request(t, 0, 10))).status).toBe(200);
    const good = await request(t, 10, 20);
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(good.length),
        fc.string({ maxLength: 20 }),
        fc.nat(good.length),
        async (at, junk, cut) => {
          tried++;
          const body = (good.slice(0, at) + junk + good.slice(at)).slice(0, Math.max(cut, at));
          const r = await post(app, body);
          expect(r.status === 200 || (r.status >= 400 && r.status < 500), body).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
    expect(tried).toBe(500);
    await state.close();
  });
});
