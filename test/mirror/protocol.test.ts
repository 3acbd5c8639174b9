// The tlog-mirror server (tilelog mirror --listen) over HTTP on a real LevelDB: each call against
// the statuses tlog-mirror and tlog-witness give, with bodies from the oracle log; bad bodies
// change nothing; the copy is served over tlog-tiles with the mirror's cosignature and equals
// the oracle byte for byte; the state survives a restart.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { toHex, utf8 } from '../../src/bytes.ts';
import { main } from '../../src/cli/index.ts';
import { type RunningMirror, startMirrorServer } from '../../src/cli/mirror.ts';
import { sha256 } from '../../src/crypto.ts';
import { parseMirrorConfig } from '../../src/mirror/index.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  generateCosignerSecret,
  generateSignerKey,
  openNote,
  parseCosignerKey,
  parseCosignerSecret,
  parseSignerKey,
} from '../../src/note/index.ts';
import { encodeBundle } from '../../src/tiles/index.ts';
import { createLiboqs, expectSubtreeCosignature } from '../helpers/subtree-cosig.ts';
import { Oracle } from './oracle.ts';

const ORIGIN = 'log.example.test/mirrored';
const logKey = parseSignerKey(generateSignerKey(ORIGIN));
const otherKey = parseSignerKey(generateSignerKey(ORIGIN));
const oracle = new Oracle(ORIGIN, logKey, 1300);
const HASH = toHex(sha256(utf8(ORIGIN)));

let running: RunningMirror[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.close()));
  running = [];
});

function files() {
  const dir = mkdtempSync(join(tmpdir(), 'tilelog-mirror-'));
  writeFileSync(join(dir, 'config'), `# mirrored logs\nlog ${ORIGIN} ${logKey.verifierKey}\n`);
  const keys = [
    generateCosignerSecret('mirror.example.test/m1', ALG_COSIGNATURE_V1),
    generateCosignerSecret('mirror.example.test/m1', ALG_MLDSA44),
  ];
  writeFileSync(join(dir, 'key'), keys.join('\n') + '\n');
  return { dir, config: join(dir, 'config'), key: join(dir, 'key'), data: join(dir, 'data') };
}

async function start(f = files()) {
  const m = await startMirrorServer({ listen: '127.0.0.1:0', ...f, say: () => undefined });
  running.push(m);
  const post = async (
    path: string,
    body: string | Uint8Array,
    headers: Record<string, string> = {},
  ) => {
    const type: Record<string, string> =
      typeof body === 'string' ? {} : { 'Content-Type': 'application/octet-stream' };
    const res = await fetch(`${m.url}/${path}`, {
      method: 'POST',
      body,
      headers: { ...type, ...headers },
    });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const get = async (path: string) => {
    const res = await fetch(`${m.url}/${HASH}/${path}`);
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  const next = () => m.mirror.copy(ORIGIN)!.next;
  const own = m.verifierKeys.map(parseCosignerKey);
  return { m, f, post, get, next, own };
}
type Mirror = Awaited<ReturnType<typeof start>>;

const entries = (m: Mirror, s: number, e: number) => m.post('add-entries', oracle.addEntries(s, e));
const info = (size: number, next: number) => `${size}\n${next}\n\n`;

describe('tilelog mirror', () => {
  it('refuses a bad command line or config with one line, before listening', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await main(['mirror'])).toBe(2);
      expect(await main(['mirror', '--listen', '127.0.0.1:0', '--config', 'c'])).toBe(2);
      expect(await main(['mirror', '--listen', 'nowhere', '--config', 'c'])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(/missing --listen/),
        expect.stringMatching(/missing --key/),
        expect.stringMatching(/--listen "nowhere" is not HOST:PORT/),
      ]);
    } finally {
      err.mockRestore();
    }
    const mldsa = parseCosignerSecret(generateCosignerSecret(ORIGIN, ALG_MLDSA44)).verifierKey;
    expect(() => parseMirrorConfig(`\nlog ${ORIGIN} ${mldsa}\n`)).toThrow(
      /^mirror config line 2: .* has no signed-note key$/,
    );
    expect(() => parseMirrorConfig(`log ${ORIGIN}\n`)).toThrow(/line 1/);
  });
});

describe('add-checkpoint', () => {
  it('updates the pending checkpoint as a witness would, without cosigning it', async () => {
    const m = await start();
    const unknown = new Oracle('log.example.test/other', logKey, 4);
    expect((await m.post('add-checkpoint', unknown.addCheckpoint(0, 4))).status).toBe(404);
    const forged = new Oracle(ORIGIN, otherKey, 5).addCheckpoint(0, 5);
    expect((await m.post('add-checkpoint', forged)).status).toBe(403);
    const body = oracle.addCheckpoint(0, 5);
    expect((await m.post('add-checkpoint', body.replace('old 0', 'old 00'))).status).toBe(400);
    expect((await m.post('add-checkpoint', body.replace('old 0', 'old 6'))).status).toBe(400);
    expect((await m.post('add-checkpoint', body)).status).toBe(200);
    const stale = await m.post('add-checkpoint', oracle.addCheckpoint(0, 7));
    expect(stale).toEqual({ status: 409, type: 'text/x.tlog.size', text: '5\n' });
    const proof = oracle.addCheckpoint(5, 9).split('\n');
    proof[1] = 'A'.repeat(43) + '=';
    expect((await m.post('add-checkpoint', proof.join('\n'))).status).toBe(422);
    const ok = await m.post('add-checkpoint', oracle.addCheckpoint(5, 9));
    expect(ok).toMatchObject({ status: 200, text: '' });
    // Nothing is mirrored until entries come: no checkpoint is served.
    expect((await m.get('checkpoint')).status).toBe(404);
  });
});

describe('add-entries', () => {
  it('answers the header checks with 404, 422, 409 and mirror-info, changing nothing', async () => {
    const m = await start();
    const other = await entries(m, 0, 3).then(() =>
      m.post('add-entries', oracle.addEntries(0, 3, { origin: 'log.example.test/other' })),
    );
    expect(other.status).toBe(404);
    expect((await entries(m, 0, 3)).status).toBe(422); // no pending checkpoint yet
    await m.post('add-checkpoint', oracle.addCheckpoint(0, 600));
    const unknownEnd = await entries(m, 0, 500);
    expect(unknownEnd).toEqual({
      status: 409,
      type: 'text/x.tlog.mirror-info',
      text: info(600, 0),
    });
    const ahead = await entries(m, 10, 600);
    expect(ahead).toEqual({ status: 409, type: 'text/x.tlog.mirror-info', text: info(600, 0) });
    expect(m.next()).toBe(0);
    const text = await m.post('add-entries', oracle.addEntries(0, 600), {
      'Content-Type': 'text/plain',
    });
    expect(text.status).toBe(415);
    expect(m.next()).toBe(0);
  });

  it('answers a malformed or truncated body with 400, and a bad package with 422, storing nothing', async () => {
    const m = await start();
    await m.post('add-checkpoint', oracle.addCheckpoint(0, 600));
    const body = oracle.addEntries(0, 600);
    expect((await m.post('add-entries', body.subarray(0, 5))).status).toBe(400);
    const header = body.subarray(0, oracle.headerLength);
    const none = await m.post('add-entries', header);
    expect(none.status).toBe(400);
    const cut = await m.post('add-entries', body.subarray(0, oracle.headerLength + 1000));
    expect(cut).toMatchObject({ status: 400 });
    expect(cut.text).toMatch(/^the body ends inside entry \d+\n$/);
    const flipped = body.slice();
    flipped[oracle.headerLength + 40]! ^= 1; // inside entry 0's bytes
    const bad = await m.post('add-entries', flipped);
    expect(bad.status).toBe(422);
    expect(bad.text.split('\n')).toHaveLength(2);
    expect(m.next()).toBe(0);
    expect((await m.get('tile/entries/000')).status).toBe(404);
    expect((await m.get('checkpoint')).status).toBe(404);
  });

  it('takes a prefix with 202 and the next entry, then completes and cosigns with 200', async () => {
    const m = await start();
    await m.post('add-checkpoint', oracle.addCheckpoint(0, 700));
    const first = await m.post('add-entries', oracle.addEntries(0, 700, { packages: 1 }));
    expect(first).toEqual({ status: 202, type: 'text/x.tlog.mirror-info', text: info(700, 256) });
    // A body cut inside its second package keeps the first (the partial bytes are discarded).
    const whole = oracle.addEntries(256, 700);
    const partial = await m.post('add-entries', whole.subarray(0, whole.length - 10));
    expect(partial).toMatchObject({ status: 202, text: info(700, 512) });
    const done = await m.post('add-entries', oracle.addEntries(512, 700, { gzip: true }), {
      'Content-Encoding': 'gzip',
    });
    expect(done.status).toBe(200);
    const lines = done.text.split('\n').slice(0, -1);
    expect(lines).toHaveLength(2);
    const note = oracle.checkpoint(700);
    expect(openNote(note + done.text, m.own).sigs).toHaveLength(2);
    await expectCopy(m, 700);
    // Once mirrored, the same upload is answered with the same cosignatures; a smaller one, 409.
    const again = await entries(m, 700, 700);
    expect(again).toMatchObject({ status: 200, text: done.text });
  });

  it('accepts re-sent entries below the next entry and an unaligned start', async () => {
    const m = await start();
    await m.post('add-checkpoint', oracle.addCheckpoint(0, 300));
    expect((await entries(m, 0, 300)).status).toBe(200);
    await m.post('add-checkpoint', oracle.addCheckpoint(300, 1000));
    // upload_start below the next entry (excess), not at a multiple of 256.
    expect((await entries(m, 100, 1000)).status).toBe(200);
    await expectCopy(m, 1000);
    await m.post('add-checkpoint', oracle.addCheckpoint(1000, 1300));
    expect((await entries(m, 1000, 1300)).status).toBe(200);
    await expectCopy(m, 1300);
    // A checkpoint older than the mirror checkpoint is no longer a valid upload_end.
    expect((await entries(m, 1000, 1000)).status).toBe(409);
  });

  it('keeps a consistent copy under concurrent uploads of the same checkpoint', async () => {
    const m = await start();
    await m.post('add-checkpoint', oracle.addCheckpoint(0, 1100));
    const all = await Promise.all([0, 1, 2, 3].map(() => entries(m, 0, 1100)));
    for (const r of all) expect(r.status).toBe(200);
    await expectCopy(m, 1100);
  });

  it('keeps its pending checkpoints and next entry across a restart', async () => {
    const f = files();
    const a = await start(f);
    await a.post('add-checkpoint', oracle.addCheckpoint(0, 300));
    expect((await entries(a, 0, 300)).status).toBe(200);
    await a.post('add-checkpoint', oracle.addCheckpoint(300, 900));
    expect((await a.post('add-entries', oracle.addEntries(300, 900, { packages: 2 }))).status).toBe(
      202,
    );
    await a.m.close();
    running = running.filter((r) => r !== a.m);
    const b = await start(f);
    expect(b.next()).toBe(768);
    await expectCopy(b, 300);
    expect((await b.post('add-checkpoint', oracle.addCheckpoint(0, 900))).text).toBe('900\n');
    expect((await entries(b, 768, 900)).status).toBe(200);
    await expectCopy(b, 900);
  });
});

describe('add-entries with bad bodies', () => {
  it('stores only entries that hash into the checkpoint, whatever is flipped or cut', async () => {
    const m = await start();
    await m.post('add-checkpoint', oracle.addCheckpoint(0, 1100));
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(255), fc.boolean(), async (at, bit, cut) => {
        const body = oracle.addEntries(m.next(), 1100);
        const pos = oracle.headerLength + (at % (body.length - oracle.headerLength));
        const bad = cut ? body.subarray(0, pos) : body.slice();
        if (!cut) bad[pos]! ^= 1 << (bit % 8) || 1;
        const before = m.next();
        const r = await m.post('add-entries', bad);
        expect([200, 202, 400, 409, 422]).toContain(r.status);
        expect(r.text.trimEnd().split('\n').length).toBeLessThanOrEqual(3);
        // Only whole packages are stored: the next entry moves to a package boundary.
        expect(m.next() === before || m.next() % 256 === 0 || m.next() === 1100).toBe(true);
      }),
      { numRuns: 25 },
    );
    // Whatever was stored is the log's: the rest completes the tree to the checkpoint's root.
    expect((await entries(m, m.next(), 1100)).status).toBe(200);
    await expectCopy(m, 1100);
  });
});

describe('/metrics', () => {
  it('counts checkpoints per log, entries stored, subtree signatures and refusals', async () => {
    const m = await start();
    expect((await m.post('add-checkpoint', oracle.addCheckpoint(0, 64))).status).toBe(200);
    expect((await m.post('add-checkpoint', oracle.addCheckpoint(0, 70))).status).toBe(409);
    expect((await m.post('add-checkpoint', 'nonsense')).status).toBe(400);
    expect((await entries(m, 0, 64)).status).toBe(200);
    const note = oracle.checkpoint(64) + (await entries(m, 0, 64)).text;
    const proof = oracle.subtreeProof(0, 32, 64).map((h) => b64(h) + '\n');
    const req = `subtree 0 32\n${b64(oracle.mth(0, 32))}\n${proof.join('')}\n${note}`;
    expect((await m.post('sign-subtree', req)).status).toBe(200);
    expect((await m.post('sign-subtree', req.replace('subtree 0 32', 'subtree 1 32'))).status).toBe(
      400,
    );
    const text = await (await fetch(`${m.m.url}/metrics`)).text();
    const value = (line: string) => {
      const hit = text.split('\n').find((l) => l.startsWith(line + ' '));
      return hit === undefined ? undefined : Number(hit.slice(line.length + 1));
    };
    const log = `log="${ORIGIN}"`;
    expect(value(`tilelog_mirror_checkpoints_total{${log},result="accepted"}`)).toBe(1);
    expect(value(`tilelog_mirror_checkpoints_total{${log},result="refused"}`)).toBe(1);
    // The second upload of [0, 64) is re-sent entries: stored again, counted again.
    expect(value(`tilelog_mirror_entries_stored_total{${log}}`)).toBe(128);
    expect(value(`tilelog_mirror_subtree_signatures_total{${log}}`)).toBe(1);
    expect(value(`tilelog_mirror_checkpoint_size{${log}}`)).toBe(64);
    const answers = (call: string, outcome: string) =>
      value(`tilelog_mirror_answers_total{call="${call}",outcome="${outcome}"}`);
    expect(answers('add-checkpoint', 'cosigned')).toBe(1);
    expect(answers('add-checkpoint', 'conflict')).toBe(1);
    expect(answers('add-checkpoint', 'malformed')).toBe(1);
    expect(answers('add-entries', 'cosigned')).toBe(2);
    expect(answers('sign-subtree', 'malformed')).toBe(1);
  });
});

describe('sign-subtree', () => {
  it('cosigns subtrees of the mirror checkpoint only', async () => {
    const m = await start();
    await m.post('add-checkpoint', oracle.addCheckpoint(0, 64));
    const done = await entries(m, 0, 64);
    const mirrored = oracle.checkpoint(64) + done.text;
    const req = (s: number, e: number, note = mirrored) =>
      `subtree ${s} ${e}\n${b64(oracle.mth(s, e))}\n${oracle
        .subtreeProof(s, e, 64)
        .map((h) => b64(h) + '\n')
        .join('')}\n${note}`;
    const ok = await m.post('sign-subtree', req(32, 48));
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/^\u2014 mirror\.example\.test\/m1 \S+\n$/);
    // Verified with liboqs, an ML-DSA-44 implementation other than the one the mirror signs with.
    const verifierKey = m.m.verifierKeys.find((k) => parseCosignerKey(k).alg === ALG_MLDSA44)!;
    const oqs = await createLiboqs();
    try {
      const claim = {
        verifierKey,
        origin: oracle.origin,
        start: 32,
        end: 48,
        hash: oracle.mth(32, 48),
      };
      expectSubtreeCosignature(oqs, ok.text.trimEnd(), claim);
    } finally {
      oqs.destroy();
    }
    // Only the log's signature: not a checkpoint this mirror cosigned.
    expect((await m.post('sign-subtree', req(32, 48, oracle.checkpoint(64)))).status).toBe(403);
    expect((await m.post('sign-subtree', req(33, 48))).status).toBe(400);
    const wrong = req(32, 48).replace(b64(oracle.mth(32, 48)), b64(oracle.mth(0, 16)));
    expect((await m.post('sign-subtree', wrong)).status).toBe(422);
    const other = new Oracle('log.example.test/other', logKey, 64);
    const foreign = `subtree 0 1\n${b64(other.mth(0, 1))}\n\n${other.checkpoint(64)}`;
    expect((await m.post('sign-subtree', foreign)).status).toBe(404);
  });
});

const b64 = (h: Uint8Array) => Buffer.from(h).toString('base64');

// expectCopy checks the served copy at size against the oracle: the checkpoint is the log's with
// the mirror's verified cosignatures, and every entry bundle and hash tile is byte for byte the
// tlog-tiles resource of that tree.
async function expectCopy(m: Mirror, size: number) {
  const cp = await m.get('checkpoint');
  expect(cp.status).toBe(200);
  const text = new TextDecoder().decode(cp.bytes);
  expect(text.startsWith(oracle.checkpoint(size))).toBe(true);
  expect(openNote(text, m.own).sigs).toHaveLength(2);
  for (let n = 0; n * 256 < size; n++) {
    const w = Math.min(256, size - n * 256);
    const p = `${w === 256 ? '' : `.p/${w}`}`;
    const idx = String(n).padStart(3, '0');
    const bundle = await m.get(`tile/entries/${idx}${p}`);
    expect(bundle.bytes).toEqual(encodeBundle(oracle.entries.slice(n * 256, n * 256 + w)));
    const tile = await m.get(`tile/0/${idx}${p}`);
    const hashes = Array.from({ length: w }, (_, i) => oracle.mth(n * 256 + i, n * 256 + i + 1));
    expect(tile.bytes).toEqual(new Uint8Array(Buffer.concat(hashes)));
  }
  if (size >= 256) {
    const w = Math.floor(size / 256);
    const tile = await m.get(`tile/1/000${w === 256 ? '' : `.p/${w}`}`);
    const hashes = Array.from({ length: w }, (_, i) => oracle.mth(i * 256, (i + 1) * 256));
    expect(tile.bytes).toEqual(new Uint8Array(Buffer.concat(hashes)));
  }
  expect(
    (await m.get(`tile/entries/${String(Math.ceil(size / 256)).padStart(3, '0')}`)).status,
  ).toBe(404);
}
