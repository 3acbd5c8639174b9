// One personality per log: a Rekor log takes only validated CreateEntryRequests, a generic log
// only raw bytes; the other write route is a 404 that appends nothing. The personality is recorded
// in the store (LevelDB and a real Ceph S3) and a reopen naming another one is refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createApp, type Personality, settlePersonality } from '../../src/api/index.ts';
import { parsePersonality, PERSONALITY_KEY } from '../../src/api/personality.ts';
import { decodePersonality } from '../../src/api/personality.ts';
import { utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { startServer } from '../../src/server.ts';
import { LevelStore, type LogStore, openS3Store } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { kill9, startChild } from '../helpers/server.ts';
import { makeSigner, request } from '../helpers/signers.ts';

const ORIGIN = 'log.example.test/personality';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const open = (store: LogStore) => Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1 });

function post(app: ReturnType<typeof createApp>, path: string, body: string) {
  return app.request(`/api/v2/${path}`, { method: 'POST', body });
}

const hashedrekord = () =>
  JSON.stringify(request(makeSigner('PKIX_ECDSA_P256_SHA_256'), utf8('an artifact')));

async function refusal(p: Promise<unknown>): Promise<LogError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LogError);
  return err as LogError;
}

describe('write routes by personality', () => {
  it('a Rekor log (the default) answers POST add with 404 and appends nothing', async () => {
    const log = await open(new MemoryStore());
    const app = createApp(log);
    expect(
      (
        await createApp(log, { personality: 'rekor' }).request('/api/v2/add', {
          method: 'POST',
          body: 'x',
        })
      ).status,
    ).toBe(404);
    const r = await post(app, 'add', 'not a hashedrekord at all');
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('a rekor log takes entries at POST log/entries only\n');
    expect(log.state.checkpoint.size).toBe(0);
    expect((await post(app, 'log/entries', hashedrekord())).status).toBe(201);
    expect((await post(app, 'add', 'after an entry')).status).toBe(404);
    expect(log.state.checkpoint.size).toBe(1);
    const served = await (await app.request('/api/v2/checkpoint')).text();
    expect(served.split('\n')[1]).toBe('1');
  });

  it('a generic log answers POST log/entries with 404 and appends nothing', async () => {
    const log = await open(new MemoryStore());
    const app = createApp(log, { personality: 'generic' });
    const r = await post(app, 'log/entries', hashedrekord());
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      code: 5,
      message: 'a generic log takes entries at POST add only',
      details: [],
    });
    expect(log.state.checkpoint.size).toBe(0);
    expect((await post(app, 'add', 'raw bytes')).status).toBe(200);
    expect(log.state.checkpoint.size).toBe(1);
    // Reads and proofs are the same for both.
    for (const path of ['checkpoint', 'tile/entries/000.p/1', 'proof/inclusion?index=0&treeSize=1'])
      expect((await app.request(`/api/v2/${path}`)).status).toBe(200);
  });
});

describe('recorded personality', () => {
  const level = async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tilelog-personality-')), 'db');
    return { reopen: () => LevelStore.open(dir) };
  };
  let n = 0;
  const s3 = async () => {
    const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
    const prefix = `personality-${process.pid}-${Date.now()}-${n++}`;
    const reopen = () =>
      openS3Store({ bucket: 'tilelog-test', prefix, endpoint, forcePathStyle: true });
    return { reopen };
  };

  for (const [name, make] of [
    ['leveldb', level],
    ['s3 (Ceph RGW)', s3],
  ] as const) {
    it(`is fixed at creation and a reopen naming another is refused (${name})`, async () => {
      const { reopen } = await make();
      let store = await reopen();
      let log = await open(store);
      expect(await settlePersonality(store, log, 'generic')).toBe('generic');
      await log.add(utf8('one entry'));
      await log.close();
      await store.close();

      store = await reopen();
      log = await open(store);
      const lock = log.integrated.lock;
      const err = await refusal(settlePersonality(store, log, 'rekor'));
      expect(err.code).toBe('fatal');
      expect(err.message).toBe(
        "this log's personality is generic, fixed when it was created; it cannot be served as rekor",
      );
      expect(await settlePersonality(store, log)).toBe('generic');
      expect(await settlePersonality(store, log, 'generic')).toBe('generic');
      expect(await store.readLock()).toEqual(lock);
      expect(new TextDecoder().decode((await store.get(PERSONALITY_KEY))!)).toBe('generic\n');
      await store.close();
    });
  }

  it('defaults to rekor for a new log and for a log created before personalities', async () => {
    const fresh = new MemoryStore();
    expect(await settlePersonality(fresh, await open(fresh))).toBe('rekor');
    expect((await refusal(settlePersonality(fresh, await open(fresh), 'generic'))).code).toBe(
      'fatal',
    );

    // A log written before this change has entries and no record: it is a Rekor log unless the
    // operator names generic on its first serve, and then stays what was chosen.
    for (const [named, want] of [
      [undefined, 'rekor'],
      ['generic', 'generic'],
      ['rekor', 'rekor'],
    ] as const) {
      const old = new MemoryStore();
      const log = await open(old);
      await log.add(utf8('written before personalities'));
      expect(await old.get(PERSONALITY_KEY)).toBeNull();
      expect(await settlePersonality(old, log, named)).toBe(want);
      const other: Personality = want === 'rekor' ? 'generic' : 'rekor';
      expect((await refusal(settlePersonality(old, log, other))).code).toBe('fatal');
    }
  });

  it('two servers opening a new log at once agree on one record', async () => {
    const store = new MemoryStore();
    const [a, b] = [await open(store), await open(store)];
    const got = await Promise.allSettled([
      settlePersonality(store, a, 'generic'),
      settlePersonality(store, b, 'generic'),
    ]);
    expect(got.map((g) => g.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(decodePersonality((await store.get(PERSONALITY_KEY))!)).toBe('generic');
  });
});

describe('personality records and names parse strictly', () => {
  it('accepts exactly the two names and the two records', () => {
    expect(parsePersonality('rekor')).toBe('rekor');
    expect(parsePersonality('generic')).toBe('generic');
    expect(() => parsePersonality('Rekor')).toThrow(
      'unknown personality "Rekor" (want rekor or generic)',
    );
    expect(decodePersonality(utf8('rekor\n'))).toBe('rekor');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        const text = new TextDecoder().decode(b);
        fc.pre(text !== 'rekor\n' && text !== 'generic\n');
        expect(() => decodePersonality(b)).toThrow(LogError);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), (s) => {
        fc.pre(s !== 'rekor' && s !== 'generic');
        expect(() => parsePersonality(s)).toThrow(LogError);
      }),
    );
  });
});

describe('tilelog serve --personality', () => {
  it('serves a new log as rekor, keeps it, and refuses to reopen it as generic', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tilelog-serve-personality-'));
    const lines: string[] = [];
    const cfg = {
      data,
      listen: '127.0.0.1:0',
      prefix: '/api/v2',
      say: (l: string) => lines.push(l),
    };
    let running = await startServer(cfg);
    const add = await fetch(`${running.url}/add`, { method: 'POST', body: 'raw bytes' });
    expect(add.status).toBe(404);
    expect(running.log.state.checkpoint.size).toBe(0);
    const entry = await fetch(`${running.url}/log/entries`, {
      method: 'POST',
      body: hashedrekord(),
    });
    expect(entry.status).toBe(201);
    await running.close();
    expect(lines.join('\n')).toMatch(/^log \S+ \(rekor\) at size 0, serving http/m);

    const err = await refusal(startServer({ ...cfg, personality: 'generic' }));
    expect(err.message).toBe(
      "this log's personality is rekor, fixed when it was created; it cannot be served as generic",
    );
    // The refusal released the store: the log opens again, as what it is.
    running = await startServer({ ...cfg, personality: 'rekor' });
    expect(running.log.state.checkpoint.size).toBe(1);
    await running.close();
  }, 30_000);

  it('says why on one line and exits 1 from the command line', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tilelog-cli-personality-'));
    // TILELOG_PERSONALITY is read when the flag is absent: the log is created generic.
    process.env.TILELOG_PERSONALITY = 'generic';
    const child = await startChild(data).finally(() => delete process.env.TILELOG_PERSONALITY);
    expect(child.output()).toMatch(/\(generic\) at size 0/);
    await kill9(child);
    const serve = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        ['bin/tilelog.js', 'serve', '--data', data, '--listen', '127.0.0.1:0', ...extra],
        { encoding: 'utf8', timeout: 20_000 },
      );
    const r = serve('--origin', 'crash.test/log', '--personality', 'rekor');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "tilelog serve: this log's personality is generic, fixed when it was created; it cannot be served as rekor\n",
    );
    const bad = serve('--personality', 'Rekor');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Rekor is not one of rekor, generic/);
  }, 30_000);
});
