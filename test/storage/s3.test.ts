// S3-specific behaviour on a real server (Ceph RGW): compare-and-swap between two independent
// clients, recovery of a commit that died after its lock swap, and a log sequenced into a bucket.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { toHex, utf8 } from '../../src/bytes.ts';
import { sha256 } from '../../src/crypto.ts';
import { checkConsistency } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { IndexedStore, openS3Store } from '../../src/storage/index.ts';
import { encodeStaging } from '../../src/storage/staging.ts';
import { parseTilePath } from '../../src/tiles/index.ts';
import { verifyLog } from '../helpers/verify.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const bucket = 'tilelog-test';
const open = (prefix: string) => openS3Store({ bucket, prefix, endpoint, forcePathStyle: true });
const unique = (name: string) => `${name}-${process.pid}-${Date.now()}`;

describe('S3 driver on Ceph RGW', () => {
  it('lets exactly one of two independent clients win a lock swap', async () => {
    const prefix = unique('race');
    const [a, b] = [await open(prefix), await open(prefix)];
    await a.commit({ expected: null, next: utf8('L1'), objects: [] });
    expect(await b.readLock()).toEqual(utf8('L1'));
    const results = await Promise.allSettled([
      a.commit({
        expected: utf8('L1'),
        next: utf8('A'),
        objects: [{ key: 'who', value: utf8('A') }],
      }),
      b.commit({
        expected: utf8('L1'),
        next: utf8('B'),
        objects: [{ key: 'who', value: utf8('B') }],
      }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason.code).toBe('conflict');
    const lock = await a.readLock();
    expect(await b.get('who')).toEqual(lock);
    // Both racing to create the first lock: one wins too.
    const p2 = unique('race-create');
    const [c, d] = [await open(p2), await open(p2)];
    const created = await Promise.allSettled([
      c.commit({ expected: null, next: utf8('C'), objects: [] }),
      d.commit({ expected: null, next: utf8('D'), objects: [] }),
    ]);
    expect(created.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const s of [a, b, c, d]) await s.close();
  });

  it('finishes a commit that died between the lock swap and applying its objects', async () => {
    const prefix = unique('staged');
    const s = await open(prefix);
    await s.commit({ expected: null, next: utf8('L1'), objects: [] });
    // Simulate the crash: the new lock and its staging object exist, the objects do not.
    const raw = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
    const objects = [
      { key: 'tile/0/000.p/1', value: new Uint8Array(32).fill(5) },
      { key: 'checkpoint', value: utf8('C2') },
    ];
    await raw.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}/staging/${toHex(sha256(utf8('L2')))}`,
        Body: encodeStaging(objects),
      }),
    );
    await raw.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/lock`, Body: utf8('L2') }),
    );
    await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}/checkpoint` }));
    const again = await open(prefix);
    expect(await again.readLock()).toEqual(utf8('L2'));
    expect(await again.get('tile/0/000.p/1')).toEqual(new Uint8Array(32).fill(5));
    expect(await again.get('checkpoint')).toEqual(utf8('C2'));
    expect(await again.get(`staging/${toHex(sha256(utf8('L2')))}`)).toBeNull();
    raw.destroy();
    await s.close();
    await again.close();
  });

  it('drops applied staging objects many at a time, and the rest when closed', async () => {
    const prefix = unique('drop');
    const raw = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
    const staged = async () =>
      (await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/staging/` })))
        .KeyCount ?? 0;
    const s = await open(prefix);
    let lock: Uint8Array | null = null;
    const commit = async (i: number) => {
      const next = utf8(`L${i}`);
      const objects = [{ key: `tile/0/x${i}`, value: utf8(`v${i}`) }];
      await s.commit({ expected: lock, next, objects });
      lock = next;
    };
    for (let i = 0; i < 20; i++) await commit(i);
    // At most one batch (16) left behind plus the ones since, never one per commit.
    expect(await staged()).toBeGreaterThan(0);
    expect(await staged()).toBeLessThan(20);
    // Another store opening the log finds the current lock's staging object, applies it again
    // (the same bytes) and deletes it.
    const other = await open(prefix);
    expect(await other.readLock()).toEqual(utf8('L19'));
    expect(await other.get('tile/0/x19')).toEqual(utf8('v19'));
    await other.close();
    // The same lock committed again (L5 after L19): its new staging object is not one to drop.
    await s.commit({
      expected: lock,
      next: utf8('L5'),
      objects: [{ key: 'tile/0/y', value: utf8('y') }],
    });
    expect(await s.get('tile/0/y')).toEqual(utf8('y'));
    await s.close();
    expect(await staged()).toBe(0);
    raw.destroy();
  });

  it('sequences a log into the bucket, and reopens it', async () => {
    const prefix = unique('log');
    const origin = 'log.example.test/s3';
    const signer = parseSignerKey(generateSignerKey(origin));
    let store = await open(prefix);
    let log = await Log.open(store, { origin, signer, maxAgeMs: 5 });
    const entries = Array.from({ length: 300 }, (_, i) => utf8(`s3 entry ${i}`));
    const results = await Promise.all(entries.map((e) => log.add(e)));
    expect(new Set(results.map((r) => r.index)).size).toBe(300);
    await log.close();
    await store.close();
    store = await open(prefix);
    log = await Log.open(store, { origin, signer });
    expect(log.state.checkpoint.size).toBe(300);
    expect((await log.add(entries[7]!)).index).toBe(results[7]!.index);
    const got = await verifyLog(
      log.state.note,
      parseVerifierKey(signer.verifierKey),
      (p) => log.reader.readTile(parseTilePath(p)),
      true,
    );
    results.forEach((r, i) => expect(got[r.index]).toEqual(entries[i]));
    await log.close();
    await store.close();
  }, 60_000);
});

describe('two writers on one bucket', () => {
  it('both accept entries; every acknowledged entry is at its index and no checkpoints fork', async () => {
    const prefix = unique('writers');
    const origin = 'log.example.test/writers';
    const signer = parseSignerKey(generateSignerKey(origin));
    const verifier = parseVerifierKey(signer.verifierKey);
    const stores = [await open(prefix), await open(prefix)];
    const logs = [] as Log[];
    // As `serve --storage s3://…` does: partial tiles stay, since the bucket is served as it is.
    for (const s of stores)
      logs.push(
        await Log.open(s, { origin, signer, maxAgeMs: 3, maxBatch: 64, keepPartials: true }),
      );
    const entries = Array.from({ length: 400 }, (_, i) => utf8(`writer ${i % 2} entry ${i}`));
    const results = await Promise.all(entries.map((e, i) => logs[i % 2]!.add(e)));
    expect(new Set(results.map((r) => r.index)).size).toBe(entries.length);
    await logs[0]!.refresh();
    await logs[1]!.refresh();
    const [a, b] = logs.map((l) => l.state.checkpoint);
    expect(a!.size).toBe(entries.length);
    expect(b!.root).toEqual(a!.root);
    const got = await verifyLog(
      logs[0]!.state.note,
      verifier,
      (p) => logs[0]!.reader.readTile(parseTilePath(p)),
      true,
    );
    results.forEach((r, i) => expect(got[r.index]).toEqual(entries[i]));
    // Every checkpoint a writer answered with is consistent with the final tree.
    for (const r of results) {
      const cp = parseCheckpoint(openNote(r.note, [verifier]).text);
      if (cp.size === 0 || cp.size === a!.size) continue;
      checkConsistency(
        cp.size,
        a!.size,
        cp.root,
        a!.root,
        await logs[0]!.reader.proveConsistency(cp.size, a!.size),
      );
    }
    for (const l of logs) await l.close();
    for (const s of stores) await s.close();
  }, 120_000);
});

describe('dedup index on local disk (IndexedStore)', () => {
  it('finds entries committed by another writer once it has seen their lock', async () => {
    const prefix = unique('indexed');
    const origin = 'log.example.test/indexed';
    const signer = parseSignerKey(generateSignerKey(origin));
    const local = () => join(mkdtempSync(join(tmpdir(), 'tilelog-idx-')), 'dedup');
    const [sa, sb] = [
      await IndexedStore.open(await open(prefix), local()),
      await IndexedStore.open(await open(prefix), local()),
    ];
    const a = await Log.open(sa, { origin, signer, maxAgeMs: 2, keepPartials: true });
    const b = await Log.open(sb, { origin, signer, maxAgeMs: 2, keepPartials: true });
    const first = await Promise.all(
      Array.from({ length: 300 }, (_, i) => a.add(utf8(`from a ${i}`))),
    );
    await b.refresh(); // b indexes a's entries from the bundles while adopting the lock
    const again = await b.add(utf8('from a 123'));
    expect(again).toMatchObject({ index: first[123]!.index, duplicate: true });
    const own = await b.add(utf8('from b'));
    expect(own.index).toBe(300);
    expect((await b.add(utf8('from b'))).duplicate).toBe(true);
    // A fresh instance with an empty local index rebuilds it from the bundles.
    const sc = await IndexedStore.open(await open(prefix), local());
    const c = await Log.open(sc, { origin, signer, maxAgeMs: 2 });
    expect(await c.add(utf8('from a 7'))).toMatchObject({
      index: first[7]!.index,
      duplicate: true,
    });
    for (const l of [a, b, c]) await l.close();
    for (const s of [sa, sb, sc]) await s.close();
  }, 60_000);
});

describe('S3 error classification', () => {
  it('tells lost races, fatal misconfiguration and transient failures apart', async () => {
    const { classify } = await import('../../src/storage/s3.ts');
    const { S3ServiceException } = await import('@aws-sdk/client-s3');
    const ex = (name: string, status: number) =>
      new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });
    expect(classify(ex('PreconditionFailed', 412), 'put').code).toBe('conflict');
    expect(classify(ex('AccessDenied', 403), 'put').code).toBe('fatal');
    expect(classify(ex('NoSuchBucket', 404), 'get').code).toBe('fatal');
    expect(classify(ex('SlowDown', 503), 'put').code).toBe('unavailable');
    expect(classify(new Error('ECONNRESET'), 'put').code).toBe('unavailable');
    // A real missing bucket on the server is fatal too.
    const s = await openS3Store({
      bucket: 'no-such-bucket-here',
      prefix: 'x',
      endpoint,
      forcePathStyle: true,
    });
    await expect(s.commit({ expected: null, next: utf8('L'), objects: [] })).rejects.toMatchObject({
      code: 'fatal',
    });
    await expect(s.readLock()).rejects.toMatchObject({ code: 'fatal' });
    await s.close();
  });
});
