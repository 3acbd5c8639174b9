// The polled log list: logs added and removed without a restart, the state of a removed log
// kept, and a list that cannot be read or parsed leaving the previous one in force (reported
// through the events, the log and the metrics).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createWitnessApp } from '../../src/api/witness.ts';
import { utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { EMPTY_ROOT, leafHash } from '../../src/merkle/index.ts';
import {
  ALG_MLDSA44,
  formatCheckpoint,
  generateCosignerSecret,
  generateSignerKey,
  parseCosignerSecret,
  parseSignerKey,
} from '../../src/note/index.ts';
import { signNote } from '../../src/note/note.ts';
import { startWitness } from '../../src/server.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import { LogList, parseWitnessConfig, Witness } from '../../src/witness/index.ts';

const A = 'a.example.test/log';
const B = 'b.example.test/log';
const keyA = parseSignerKey(generateSignerKey(A));
const keyB = parseSignerKey(generateSignerKey(B));
const line = (o: string, k = o === A ? keyA : keyB) => `log ${o} ${k.verifierKey}\n`;
const secret = generateCosignerSecret('witness.example.test/list', ALG_MLDSA44);

// An empty-tree checkpoint of size 0 is consistent with any record: old 0 asks for the size.
const ask = (origin: string, old = 0, size = 0) => {
  const key = origin === A ? keyA : keyB;
  const root = size === 0 ? EMPTY_ROOT : leafHash(utf8('one'));
  const text = formatCheckpoint({ origin, size, root, extensions: [] });
  return `old ${old}\n\n${signNote(text, [key])}`;
};

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tilelog-list-'));
  const state = await openLocalMap(join(dir, 'state'));
  const w = new Witness([], [parseCosignerSecret(secret)], state);
  const app = createWitnessApp(w);
  const post = async (origin: string, old = 0, size = 0) =>
    (await app.request('/add-checkpoint', { method: 'POST', body: ask(origin, old, size) })).status;
  return { dir, state, w, post };
}

describe('the polled log list', () => {
  it('adds and removes logs at each poll, keeps removed state, keeps the old list on errors', async () => {
    const { dir, state, w, post } = await setup();
    const file = join(dir, 'logs');
    const failed: string[] = [];
    const loaded: { added: string[]; removed: string[] }[] = [];
    const list = new LogList({
      source: file,
      witness: w,
      events: { failed: (r) => failed.push(r), loaded: (i) => loaded.push(i) },
    });
    expect(await list.poll()).toBe(false); // no file yet: nothing in force
    expect(failed[0]).toMatch(/^log list .*logs: [^\n]+$/);
    writeFileSync(file, `# one log\n${line(A)}`);
    expect(await list.poll()).toBe(true);
    expect(await post(A)).toBe(200);
    expect(await post(A, 0, 1)).toBe(200); // A's record: size 1
    expect(await post(B)).toBe(404);
    writeFileSync(file, line(B));
    expect(await list.poll()).toBe(true);
    expect(loaded.at(-1)).toEqual({ logs: 1, added: [B], removed: [A] });
    expect([await post(A, 0), await post(B)]).toEqual([404, 200]);
    for (const bad of [`${line(B)}log ${A}\n`, `${line(B)}${line(B)}`, 'logg x y\n', '\u0000']) {
      writeFileSync(file, bad);
      expect(await list.poll()).toBe(false);
      expect(await post(B, 0)).toBe(200); // B is still witnessed (its size stays 0)
    }
    expect(failed.every((r) => !r.includes('\n'))).toBe(true);
    writeFileSync(file, line(A) + line(B));
    expect(await list.poll()).toBe(true);
    // A's record survived its removal: it still knows size 1, so old 0 is a conflict.
    expect([await post(A), await post(A, 1, 1)]).toEqual([409, 200]);
    writeFileSync(file, '');
    expect(await list.poll()).toBe(true);
    expect(w.origins()).toEqual([]);
    await state.close();
  });

  it('reads a list from a URL, keeps it when the server fails, and refuses origins in the config', async () => {
    const { state, w, post } = await setup();
    let body = line(A);
    let status = 200;
    const srv = createServer((_, res) => res.writeHead(status).end(body));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/logs`;
    const fixed = parseWitnessConfig(line(B));
    const failed: string[] = [];
    const list = new LogList({
      source: url,
      witness: w,
      fixed,
      events: { failed: (r) => failed.push(r) },
    });
    expect(await list.poll()).toBe(true);
    expect([await post(A), await post(B)]).toEqual([200, 200]);
    status = 500;
    body = '';
    expect(await list.poll()).toBe(false);
    expect(failed.at(-1)).toMatch(/HTTP status 500/);
    status = 200;
    body = line(A) + line(B);
    expect(await list.poll()).toBe(false);
    expect(failed.at(-1)).toMatch(/also in the config/);
    expect(w.origins().sort()).toEqual([A, B]);
    srv.close();
    await state.close();
  });

  it('parses any text into logs or a one-line bad_request error', () => {
    const good = line(A) + line(B);
    fc.assert(
      fc.property(
        fc.nat(good.length),
        fc.string({ maxLength: 10 }),
        fc.nat(20),
        (at, junk, drop) => {
          const text = good.slice(0, at) + junk + good.slice(at + drop);
          try {
            const logs = parseWitnessConfig(text, { allowEmpty: true });
            for (const l of logs) expect(text).toContain(l.origin);
          } catch (err) {
            expect(err).toBeInstanceOf(LogError);
            expect((err as LogError).code).toBe('bad_request');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('tilelog witness --log-list', () => {
  it('picks up a new list without a restart and reports a bad one in its metrics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-listw-'));
    writeFileSync(join(dir, 'witness.key'), secret + '\n');
    writeFileSync(join(dir, 'logs'), line(A));
    const running = await startWitness({
      logList: join(dir, 'logs'),
      logListInterval: 1,
      key: join(dir, 'witness.key'),
      data: join(dir, 'data'),
      listen: '127.0.0.1:0',
      prefix: '',
    });
    try {
      const post = async (o: string) =>
        (await fetch(`${running.url}/add-checkpoint`, { method: 'POST', body: ask(o) })).status;
      const until = async (f: () => Promise<boolean>) => {
        for (let i = 0; i < 60 && !(await f()); i++) await new Promise((r) => setTimeout(r, 100));
        expect(await f()).toBe(true);
      };
      const metric = async (name: string) => {
        const text = await (await fetch(`${running.url}/metrics`)).text();
        return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      };
      expect([await post(A), await post(B)]).toEqual([200, 404]);
      writeFileSync(join(dir, 'logs'), line(B));
      await until(async () => (await post(B)) === 200);
      expect(await post(A)).toBe(404);
      writeFileSync(join(dir, 'logs'), 'not a list\n');
      await until(
        async () => (await metric('tilelog_witness_log_list_loads_total{result="error"}')) >= 1,
      );
      expect(await post(B)).toBe(200);
      expect(await metric('tilelog_witness_logs')).toBe(1);
      expect(await metric('tilelog_witness_log_list_loads_total{result="ok"}')).toBe(2);
    } finally {
      await running.close();
    }
  });

  it('refuses to start on a log list that does not parse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-listbad-'));
    writeFileSync(join(dir, 'witness.key'), secret + '\n');
    writeFileSync(join(dir, 'logs'), `log ${A} nonsense\n`);
    const cfg = { logList: join(dir, 'logs'), key: join(dir, 'witness.key'), data: join(dir, 'd') };
    await expect(startWitness({ ...cfg, listen: '127.0.0.1:0', prefix: '' })).rejects.toThrow(
      /log list .*line 1/,
    );
  });
});
