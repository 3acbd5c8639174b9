// `tilelog serve --mirror-policy` (a real child process) pushing to two real mirrors, one on
// LevelDB and one on the shared Ceph RGW: after several publications each mirror's copy is the
// log byte for byte (every hash tile and entry bundle of the final tree), its checkpoint is the
// log's followed by the mirror's verified cosignatures, and the mirror never got ahead of what
// the log published.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { toHex, utf8 } from '../../src/bytes.ts';
import { type RunningMirror, startMirrorServer } from '../../src/cli/mirror.ts';
import { sha256 } from '../../src/crypto.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  generateCosignerSecret,
  generateSignerKey,
  openNote,
  parseCosignerKey,
  parseSignerKey,
} from '../../src/note/index.ts';
import { type Child, kill9, startChild } from '../helpers/server.ts';

const ORIGIN = 'crash.test/log'; // startChild's origin
const HASH = toHex(sha256(utf8(ORIGIN)));
const logSkey = generateSignerKey(ORIGIN);
const logKey = parseSignerKey(logSkey);
const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;

const mirrors: RunningMirror[] = [];
let child: Child | undefined;
afterAll(async () => {
  if (child) await kill9(child);
  await Promise.all(mirrors.map((m) => m.close()));
});

async function mirror(dir: string, name: string, data: string): Promise<RunningMirror> {
  writeFileSync(join(dir, `${name}.cfg`), `log ${ORIGIN} ${logKey.verifierKey}\n`);
  const keys = [
    generateCosignerSecret(`mirror.test/${name}`, ALG_COSIGNATURE_V1),
    generateCosignerSecret(`mirror.test/${name}`, ALG_MLDSA44),
  ];
  writeFileSync(join(dir, `${name}.key`), keys.join('\n') + '\n');
  const m = await startMirrorServer({
    listen: '127.0.0.1:0',
    config: join(dir, `${name}.cfg`),
    key: join(dir, `${name}.key`),
    data,
    s3Endpoint: endpoint,
    s3PathStyle: true,
    say: () => undefined,
  });
  mirrors.push(m);
  return m;
}

async function bytes(url: string): Promise<{ status: number; body: Uint8Array }> {
  const r = await fetch(url);
  return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) };
}

// every tile and bundle path of the tree of size (tlog-tiles: full tiles and the partial edge).
function paths(size: number): string[] {
  const out: string[] = [];
  const idx = (n: number) => {
    const s = String(n).padStart(3, '0');
    return n >= 1000 ? `x${String(Math.floor(n / 1000)).padStart(3, '0')}/${s.slice(-3)}` : s;
  };
  for (let level = -1; level === -1 || 256 ** level <= size; level++) {
    const per = 256 ** Math.max(level, 0);
    const count = Math.floor(size / per);
    for (let n = 0; n * 256 < count; n++) {
      const w = Math.min(256, count - n * 256);
      const dir = level === -1 ? 'entries' : String(level);
      out.push(`tile/${dir}/${idx(n)}${w === 256 ? '' : `.p/${w}`}`);
    }
  }
  return out;
}

describe('serve --mirror-policy', () => {
  it('keeps a LevelDB mirror and a Ceph mirror equal to the log, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-push-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'log.key'), logSkey + '\n', { mode: 0o600 });
    const bucket = `s3://tilelog-test/mirror-push-${Date.now()}-${process.pid}`;
    const [ml, ms] = [
      await mirror(dir, 'level', join(dir, 'mirror')),
      await mirror(dir, 's3', bucket),
    ];
    const lines = [ml, ms].flatMap((m, i) =>
      m.verifierKeys.map((k, j) => `witness M${i}${j} ${k} ${m.url}`),
    );
    writeFileSync(
      join(dir, 'policy'),
      `log ${logKey.verifierKey}\n${lines.join('\n')}\nquorum none\n`,
    );
    child = await startChild(join(dir, 'data'), [
      '--personality',
      'generic',
      '--mirror-policy',
      join(dir, 'policy'),
    ]);
    // An add is idempotent (the same bytes get the same index), so a connection the loaded
    // machine drops is simply retried.
    const add = async (i: number): Promise<number> => {
      const body = utf8(`entry ${i} `.repeat(1 + (i % 7)));
      for (let attempt = 0; ; attempt++) {
        try {
          return (await fetch(`${child!.url}/add`, { method: 'POST', body })).status;
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
    };
    let size = 0;
    for (const batch of [300, 1, 257, 500]) {
      for (let i = 0; i < batch; i += 100) {
        const n = Math.min(100, batch - i);
        const res = await Promise.all(Array.from({ length: n }, (_, j) => add(size + i + j)));
        for (const status of res) expect(status).toBe(200);
      }
      size += batch;
    }
    const logCp = await fetch(`${child.url}/checkpoint`).then((r) => r.text());
    expect(logCp.split('\n')[1]).toBe(String(size));
    for (const m of [ml, ms]) {
      // The loop follows publications: wait for the mirror to cosign the last one.
      let cp = '';
      for (let i = 0; i < 300 && !cp.startsWith(logCp); i++) {
        const r = await fetch(`${m.url}/${HASH}/checkpoint`);
        cp = r.status === 200 ? await r.text() : '';
        if (!cp.startsWith(logCp)) await new Promise((r) => setTimeout(r, 100));
      }
      expect(cp.startsWith(logCp), cp).toBe(true);
      const own = m.verifierKeys.map(parseCosignerKey);
      expect(openNote(cp, own).sigs).toHaveLength(2);
      expect(
        cp
          .slice(logCp.length)
          .split('\n')
          .filter((l) => l),
      ).toHaveLength(2);
      for (const p of paths(size)) {
        const [a, b] = [await bytes(`${child.url}/${p}`), await bytes(`${m.url}/${HASH}/${p}`)];
        expect(a.status, p).toBe(200);
        expect(b.status, p).toBe(200);
        expect(Buffer.from(b.body).equals(Buffer.from(a.body)), p).toBe(true);
      }
      // Nothing past the mirrored tree is served.
      const past = `tile/entries/${String(Math.floor(size / 256)).padStart(3, '0')}.p/${(size % 256) + 1}`;
      expect((await bytes(`${m.url}/${HASH}/${past}`)).status).toBe(404);
    }
  });
});
