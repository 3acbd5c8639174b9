// One personality per log: a Rekor log takes only validated CreateEntryRequests, a generic log
// only raw bytes; the other write route is a 404 that appends nothing. The personality is recorded
// in the store (LevelDB and a real Ceph S3) and a reopen naming another one is refused.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  createApp,
  parsePersonality,
  type Personality,
  PERSONALITY_KEY,
  settlePersonality,
} from '../../src/api/index.ts';
import { decodePersonality } from '../../src/api/personality.ts';
import { utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { LevelStore, type LogStore, MemoryStore, openS3Store } from '../../src/storage/index.ts';
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
  it('a Rekor log answers POST add with 404 and appends nothing', async () => {
    const log = await open(new MemoryStore());
    const app = createApp(log, { personality: 'rekor' });
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
