// tlog-witness sign-subtree and the monitoring retrieval, against the statuses the spec gives.
// Subtree cosignatures are checked with liboqs, not with @noble/post-quantum, which the witness
// signs with (test/helpers/subtree-cosig.ts).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createWitnessApp } from '../../src/api/witness.ts';
import { toHex, utf8 } from '../../src/bytes.ts';
import { sha256 } from '../../src/crypto.ts';
import { type Hash, leafHash, nodeHash } from '../../src/merkle/index.ts';
import {
  formatCheckpoint,
  openNote,
  parseCosignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { signNote } from '../../src/note/note.ts';
import { formatSubtreeRequest, parseSubtreeRequest } from '../../src/witness/request.ts';
import { createLiboqs, expectSubtreeCosignature, type Liboqs } from '../helpers/subtree-cosig.ts';
import { logSigner, openWitness, witnessCosigners } from '../helpers/witness.ts';

const ORIGIN = 'log.example.test/subtrees';
const logKey = logSigner(ORIGIN);
const { ed, pq } = witnessCosigners('witness.example.test/ed', 'witness.example.test/pq', 5);
const NOW = 1767139200;

let oqs: Liboqs;
beforeAll(async () => {
  oqs = await createLiboqs();
});
afterAll(() => oqs.destroy());

const leaves = Array.from({ length: 64 }, (_, i) => leafHash(utf8(`entry ${i}`)));
function mth(lo: number, hi: number, l = leaves): Hash {
  if (hi - lo === 1) return l[lo]!;
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return nodeHash(mth(lo, lo + k, l), mth(lo + k, hi, l));
}

async function witness(origins = [ORIGIN]) {
  const logs = origins.map((o) => [o, logKey.verifierKey] as const);
  return openWitness(logs, [ed, pq], () => NOW);
}

const post = (app: ReturnType<typeof createWitnessApp>, path: string, body: string) =>
  app.request(path, { method: 'POST', body });

function logCheckpoint(size: number, root = mth(0, size), origin = ORIGIN): string {
  return signNote(formatCheckpoint({ origin, size, root, extensions: [] }), [logKey]);
}

// cosigned returns the checkpoint of size as the witness cosigned it (add-checkpoint from old).
async function cosigned(app: ReturnType<typeof createWitnessApp>, size: number, old = 0) {
  const note = logCheckpoint(size);
  // Only re-submissions of the same size: no proof lines needed.
  const r = await post(app, '/add-checkpoint', `old ${old}\n\n${note}`);
  expect(r.status).toBe(200);
  // tlog-witness: "the checkpoint SHOULD only include signatures from the witness's key(s)".
  return note.slice(0, note.indexOf('\n\n') + 2) + (await r.text());
}

function subtreeProof(start: number, end: number, lo: number, hi: number, known = true): Hash[] {
  // The draft's SUBTREE_SUBPROOF, written over absolute ranges.
  if (start === lo && end === hi) return known ? [] : [mth(lo, hi)];
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  const mid = lo + k;
  if (end <= mid) return [...subtreeProof(start, end, lo, mid, known), mth(mid, hi)];
  if (start >= mid) return [...subtreeProof(start, end, mid, hi, known), mth(lo, mid)];
  return [...subtreeProof(mid, end, mid, hi, false), mth(lo, mid)];
}

function body(start: number, end: number, note: string, size: number, hash = mth(start, end)) {
  const proof = subtreeProof(start, end, 0, size);
  return formatSubtreeRequest({ start, end, hash, proof, note });
}

function checkWithLiboqs(line: string, start: number, end: number, hash: Hash, ts = 0n): void {
  const claim = { verifierKey: pq.verifierKey, origin: ORIGIN, start, end, hash, timestamp: ts };
  expectSubtreeCosignature(oqs, line, claim);
}

describe('tlog-witness sign-subtree', () => {
  it('cosigns subtrees with ML-DSA-44 at timestamp 0, verified by liboqs', async () => {
    const { app, state } = await witness();
    const ref = await cosigned(app, 14);
    // The checkpoint cosignature itself: subtree [0, 14) with the time of signing.
    const cpLine = ref.split('\n').find((l) => l.startsWith(`\u2014 ${pq.name} `))!;
    checkWithLiboqs(cpLine, 0, 14, mth(0, 14), BigInt(NOW));
    for (const [start, end] of [
      [8, 13],
      [4, 8],
      [0, 8],
      [0, 14],
      [13, 14],
      [0, 1],
    ] as const) {
      const r = await post(app, '/sign-subtree', body(start, end, ref, 14));
      expect(r.status, `[${start}, ${end})`).toBe(200);
      const lines = (await r.text()).split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(1); // Ed25519 cosignature/v1 cannot sign a subtree
      checkWithLiboqs(lines[0]!, start, end, mth(start, end));
    }
    await state.close();
  });

  it('answers each failure with the status the spec gives, and changes nothing', async () => {
    const { app, state } = await witness([ORIGIN, 'other.example.test/log']);
    const ref = await cosigned(app, 14);
    const other = logSigner(ORIGIN);
    const text = formatCheckpoint({ origin: ORIGIN, size: 14, root: mth(0, 14), extensions: [] });
    const future = formatCheckpoint({ origin: ORIGIN, size: 20, root: mth(0, 20), extensions: [] });
    const fork = formatCheckpoint({
      origin: ORIGIN,
      size: 14,
      root: mth(0, 14, leaves.slice(1)),
      extensions: [],
    });
    const unknown = formatCheckpoint({
      origin: 'x.example.test',
      size: 14,
      root: mth(0, 14),
      extensions: [],
    });
    const good = body(8, 13, ref, 14);
    const lines = good.split('\n');
    const cases: [string, string, number][] = [
      ['bad first line', good.replace('subtree 8 13', 'subtree 8  13'), 400],
      ['leading zero', good.replace('subtree 8 13', 'subtree 08 13'), 400],
      ['no range line', good.replace('subtree 8 13\n', ''), 400],
      ['hash line not a hash', good.replace(lines[1]!, 'AAAA'), 400],
      ['no empty line', lines.slice(0, 4).join('\n'), 400],
      ['no checkpoint', lines.slice(0, 7).join('\n') + '\n', 400],
      [
        '64 proof lines',
        formatSubtreeRequest({
          start: 8,
          end: 13,
          hash: mth(8, 13),
          proof: Array(64).fill(mth(0, 8)),
          note: ref,
        }),
        400,
      ],
      [
        'not a subtree',
        formatSubtreeRequest({ start: 1, end: 3, hash: mth(1, 3), proof: [], note: ref }),
        400,
      ],
      ['end past the checkpoint', body(8, 16, ref, 16), 400],
      ['checkpoint text malformed', good.replace(`\n14\n`, '\n014\n'), 400],
      ['unknown origin', body(8, 13, signNote(unknown, []) + pq.cosign(unknown, NOW), 14), 404],
      [
        'known but never cosigned',
        body(
          8,
          13,
          `${text.replace(ORIGIN, 'other.example.test/log')}\n${pq.cosign(text.replace(ORIGIN, 'other.example.test/log'), NOW)}`,
          14,
        ),
        403,
      ],
      ['signed by the log only', body(8, 13, logCheckpoint(14), 14), 403],
      ['signed by another key', body(8, 13, signNote(text, [other]), 14), 403],
      [
        'bad witness signature',
        // One base64 character of the signature changed (to another: an 'A' stays 'A' otherwise).
        body(
          8,
          13,
          ref.replace(
            /(\u2014 witness\.example\.test\/pq \S{20})(\S)/,
            (_, pre: string, c: string) => pre + (c === 'A' ? 'B' : 'A'),
          ),
          14,
        ),
        403,
      ],
      [
        'cosigned, but above the record',
        body(8, 13, `${future}\n${pq.cosign(future, NOW)}`, 20),
        403,
      ],
      [
        'cosigned, but a fork of the record',
        body(8, 13, `${fork}\n${pq.cosign(fork, NOW)}`, 14),
        403,
      ],
      ['wrong subtree hash', body(8, 13, ref, 14, mth(8, 12)), 422],
      [
        'proof too short',
        formatSubtreeRequest({
          start: 8,
          end: 13,
          hash: mth(8, 13),
          proof: subtreeProof(8, 13, 0, 14).slice(1),
          note: ref,
        }),
        422,
      ],
      [
        'proof too long',
        formatSubtreeRequest({
          start: 8,
          end: 13,
          hash: mth(8, 13),
          proof: [...subtreeProof(8, 13, 0, 14), mth(0, 1)],
          note: ref,
        }),
        422,
      ],
      [
        'proof of another tree',
        formatSubtreeRequest({
          start: 4,
          end: 8,
          hash: mth(4, 8),
          proof: subtreeProof(4, 8, 0, 16),
          note: ref,
        }),
        422,
      ],
    ];
    for (const [name, b, status] of cases) {
      const r = await post(app, '/sign-subtree', b);
      expect(r.status, name).toBe(status);
      const reason = await r.text();
      if (status !== 200) expect(reason, name).toMatch(/^[^\n]+\n$/);
    }
    expect((await post(app, '/sign-subtree', 'subtree 0 1\n' + 'x'.repeat(70_000))).status).toBe(
      413,
    );
    // Nothing above moved the record: 14 is still the size to come from.
    const r = await post(app, '/add-checkpoint', `old 0\n\n${logCheckpoint(20)}`);
    expect([r.status, await r.text()]).toEqual([409, '14\n']);
    await state.close();
  });

  it('parses and formats sign-subtree bodies as inverses', () => {
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        hash,
        fc.array(hash, { maxLength: 63 }),
        fc.string({ minLength: 1 }),
        (start, end, h, proof, note) => {
          const req = { start, end, hash: h, proof, note };
          expect(parseSubtreeRequest(formatSubtreeRequest(req))).toEqual(req);
        },
      ),
    );
  });

  it('accepts only bodies that format back unchanged, and answers every mangled one with a 4xx', async () => {
    const { app, state } = await witness();
    const ref = await cosigned(app, 14);
    const good = body(8, 13, ref, 14);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(good.length),
        fc.string({ maxLength: 12 }),
        fc.nat(40),
        async (at, junk, drop) => {
          const b = good.slice(0, at) + junk + good.slice(at + drop);
          const parsed = parseSubtreeRequest(b);
          if (typeof parsed !== 'string') expect(formatSubtreeRequest(parsed)).toBe(b);
          const r = await post(app, '/sign-subtree', b);
          expect(r.status === 200 || (r.status >= 400 && r.status < 500), b).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    await state.close();
  });
});

describe('tlog-witness monitoring retrieval', () => {
  it('serves the last cosigned checkpoint with the log and witness signatures, else 404', async () => {
    const { app, state } = await witness();
    const path = `/${toHex(sha256(utf8(ORIGIN)))}/checkpoint`;
    expect((await app.request(path)).status).toBe(404);
    await cosigned(app, 10);
    await cosigned(app, 10, 10);
    const r = await app.request(path);
    expect(r.status).toBe(200);
    const note = await r.text();
    const keys = [
      parseVerifierKey(logKey.verifierKey),
      parseCosignerKey(ed.verifierKey),
      parseCosignerKey(pq.verifierKey),
    ];
    expect(openNote(note, keys).sigs.map((s) => s.name)).toEqual([ORIGIN, ed.name, pq.name]);
    expect(openNote(note, keys).text).toBe(
      formatCheckpoint({ origin: ORIGIN, size: 10, root: mth(0, 10), extensions: [] }),
    );
    expect(
      (await app.request(path.toUpperCase().replace('/CHECKPOINT', '/checkpoint'))).status,
    ).toBe(404);
    expect((await app.request(`/${toHex(sha256(utf8('nope')))}/checkpoint`)).status).toBe(404);
    await state.close();
  });
});
