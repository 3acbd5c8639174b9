import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../src/note/index.ts';
import { fsck, Log, migrate } from '../../src/sequencer/index.ts';
import { LevelStore, type LogStore, openS3Store } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { FaultyStore } from '../helpers/faulty.ts';

const ORIGIN = 'log.example.test/migrate';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);

async function fill(store: LogStore, n: number) {
  const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1, maxBatch: 4096 });
  await Promise.all(Array.from({ length: n }, (_, i) => log.add(utf8(`migrate ${i}`))));
  await log.close();
}

describe('migrate', () => {
  it('copies a log, resumes after an interruption, and the copy passes fsck and opens', async () => {
    const from = new MemoryStore();
    await fill(from, 40_000);
    const to = new FaultyStore(new MemoryStore());
    // Interrupt the copy after its first chunk lands.
    let commits = 0;
    const inner = to.commit.bind(to);
    to.commit = async (c) => {
      if (++commits === 2) throw new Error('interrupted');
      return inner(c);
    };
    await expect(migrate(from, to, verifier, ORIGIN)).rejects.toThrow('interrupted');
    await expect(Log.open(to, { origin: ORIGIN, signer })).rejects.toMatchObject({
      code: 'corrupt',
    });
    to.commit = inner;
    expect(await migrate(from, to, verifier, ORIGIN)).toBe(40_000 - 64 * 256);
    expect(await migrate(from, to, verifier, ORIGIN)).toBe(0);
    expect(await fsck(to, verifier, ORIGIN)).toMatchObject({ size: 40_000 });
    const log = await Log.open(to, { origin: ORIGIN, signer, maxAgeMs: 1 });
    expect((await log.add(utf8('migrate 123'))).index).toBe(123);
    expect((await log.add(utf8('after the move'))).index).toBe(40_000);
  }, 60_000);

  it('moves a LevelDB log into S3 (Ceph RGW), verified on arrival', async () => {
    const level = await LevelStore.open(join(mkdtempSync(join(tmpdir(), 'tilelog-mig-')), 'db'));
    await fill(level, 1000);
    const s3 = await openS3Store({
      bucket: 'tilelog-test',
      prefix: `migrate-${process.pid}-${Date.now()}`,
      endpoint: process.env.TILELOG_TEST_S3_ENDPOINT!,
      forcePathStyle: true,
    });
    expect(await migrate(level, s3, verifier, ORIGIN)).toBe(1000);
    expect(await fsck(s3, verifier, ORIGIN)).toMatchObject({ size: 1000 });
    expect(new TextDecoder().decode((await s3.get('checkpoint'))!)).toBe(
      new TextDecoder().decode((await level.readLock())!),
    );
    await level.close();
    await s3.close();
  }, 60_000);

  it('refuses a destination that holds another log, or a fork of this one', async () => {
    const a = new MemoryStore();
    await fill(a, 10);
    const other = new MemoryStore();
    const otherKey = parseSignerKey(generateSignerKey(ORIGIN));
    await Log.open(other, { origin: ORIGIN, signer: otherKey });
    await expect(migrate(a, other, verifier, ORIGIN)).rejects.toThrow(/already holds a log/);
    const fork = new MemoryStore();
    const log = await Log.open(fork, { origin: ORIGIN, signer, maxAgeMs: 1 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => log.add(utf8(`fork ${i}`))));
    await expect(migrate(a, fork, verifier, ORIGIN)).rejects.toThrow(/not consistent/);
  });

  it('brings a mirror up to date when the source has grown', async () => {
    const a = new MemoryStore();
    const log = await Log.open(a, { origin: ORIGIN, signer, maxAgeMs: 1, maxBatch: 4096 });
    await Promise.all(Array.from({ length: 700 }, (_, i) => log.add(utf8(`grow ${i}`))));
    const copy = new MemoryStore();
    expect(await migrate(a, copy, verifier, ORIGIN)).toBe(700);
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.add(utf8(`more ${i}`))));
    expect(await migrate(a, copy, verifier, ORIGIN)).toBe(1000 - 512);
    expect(await fsck(copy, verifier, ORIGIN)).toMatchObject({ size: 1000 });
  });
});
