// Strong dedup on S3: the local index is complete after readLock(), and an instance with an empty
// index restores it from the snapshot chunks in the bucket plus the level-0 tiles after the last
// chunk, reading no entry bundle and no tile the snapshot covers. On Ceph RGW.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { readU64be, toHex, utf8 } from '../../src/bytes.ts';
import { leafHash } from '../../src/merkle/index.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { IndexedStore, indexKey, openS3Store } from '../../src/storage/index.ts';
import { snapshotKey } from '../../src/storage/indexed.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const bucket = 'tilelog-test';
const origin = 'log.example.test/indexed';
const signer = parseSignerKey(generateSignerKey(origin));
const local = () => join(mkdtempSync(join(tmpdir(), 'tilelog-idx-')), 'dedup');
const C = 512; // snapshot chunk: two level-0 tiles

// An S3 store that records the keys it GETs.
async function counted(prefix: string) {
  const gets: string[] = [];
  const s3 = await openS3Store({
    bucket,
    prefix,
    endpoint,
    forcePathStyle: true,
    configure: (client) =>
      client.middlewareStack.add(
        (next, ctx) => async (args) => {
          const input = args.input as { Key?: string };
          if (ctx.commandName === 'GetObjectCommand')
            gets.push(input.Key!.slice(prefix.length + 1));
          return next(args);
        },
        { step: 'initialize' },
      ),
  });
  return { s3, gets };
}

async function expectIndexed(store: IndexedStore, entries: Uint8Array[]) {
  const keys = entries.map((e) => indexKey(toHex(leafHash(e))));
  const got = await store.getMany(keys);
  got.forEach((v, i) => expect(v && readU64be(v), `entry ${i}`).toBe(i));
}

describe('dedup index snapshot in the bucket', () => {
  it('restores an empty index from the chunks and the tiles after them only', async () => {
    const prefix = `snap-${process.pid}-${Date.now()}`;
    const entries = Array.from({ length: 1300 }, (_, i) => utf8(`entry ${i}`));
    const a = await IndexedStore.open(
      await openS3Store({ bucket, prefix, endpoint, forcePathStyle: true }),
      local(),
      { snapshotEntries: C },
    );
    const log = await Log.open(a, { origin, signer, maxAgeMs: 2, keepPartials: true });
    for (let i = 0; i < entries.length; i += 100)
      await Promise.all(entries.slice(i, i + 100).map((e) => log.add(e)));
    await log.close();
    await a.flushSnapshot();
    const chunk0 = (await a.get(snapshotKey(0)))!;
    expect(chunk0.length).toBe(C * 32);
    expect(toHex(chunk0.subarray(32 * 7, 32 * 8))).toBe(toHex(leafHash(entries[7]!)));
    expect(await a.get(snapshotKey(2))).toBeNull(); // 1300 entries: chunks 0 and 1 only
    await a.close();

    // A fresh instance: chunks 0 and 1, then the level-0 tiles of entries 1024..1299.
    const { s3, gets } = await counted(prefix);
    const b = await IndexedStore.open(s3, local(), { snapshotEntries: C });
    await b.readLock();
    await expectIndexed(b, entries);
    const read = gets.filter((k) => k.startsWith('tile/') || k.startsWith('dedup/'));
    expect(read.filter((k) => k.startsWith('tile/entries'))).toEqual([]);
    expect(read.filter((k) => k.startsWith('dedup/')).sort()).toEqual(['dedup/0', 'dedup/1']);
    expect(read.filter((k) => k.startsWith('tile/0/')).sort()).toEqual([
      'tile/0/004',
      'tile/0/005.p/20',
    ]);
    expect(await b.indexedSize()).toBe(1300);
    await b.close();

    // A missing chunk and a damaged one are read from the tiles instead.
    const raw = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
    await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}/${snapshotKey(0)}` }));
    await raw.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${snapshotKey(1)}`, Body: 'short' }),
    );
    raw.destroy();
    const c = await IndexedStore.open(
      await openS3Store({ bucket, prefix, endpoint, forcePathStyle: true }),
      local(),
      { snapshotEntries: C },
    );
    await c.readLock();
    await expectIndexed(c, entries);
    await c.close();
  }, 120_000);

  it('has a taking-over sequencer answer a resent entry with its first index', async () => {
    const prefix = `snap-dedup-${process.pid}-${Date.now()}`;
    const open = async () =>
      IndexedStore.open(
        await openS3Store({ bucket, prefix, endpoint, forcePathStyle: true }),
        local(),
        {
          snapshotEntries: C,
        },
      );
    const sa = await open();
    const a = await Log.open(sa, { origin, signer, maxAgeMs: 2, keepPartials: true });
    const first = await Promise.all(
      Array.from({ length: 700 }, (_, i) => a.add(utf8(`first ${i}`))),
    );
    await a.close();
    await sa.close();
    // The next sequencer starts with an empty local index and is sent every entry again.
    const sb = await open();
    const b = await Log.open(sb, { origin, signer, maxAgeMs: 2, keepPartials: true });
    const again = await Promise.all(
      Array.from({ length: 700 }, (_, i) => b.add(utf8(`first ${i}`))),
    );
    again.forEach((r, i) => expect(r).toMatchObject({ index: first[i]!.index, duplicate: true }));
    expect(b.state.checkpoint.size).toBe(700);
    await b.close();
    await sb.close();
  }, 120_000);
});
