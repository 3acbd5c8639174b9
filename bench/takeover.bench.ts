// Takeover at 10M entries (#12 item 4): how long a sequencer with an empty local dedup index takes
// to make its index complete (IndexedStore.readLock) from the snapshot chunks in the bucket plus
// the level-0 tiles after the last chunk, and how long one that kept up as a frontend takes. The
// bucket is built directly: a lock naming size N, the dedup/<k> chunks and the tail's level-0
// tiles, with random leaf hashes (the restore reads nothing else). A measurement, not a test.
// Needs TILELOG_TEST_S3_ENDPOINT (Ceph RGW); deletes what it wrote.
import { randomBytes as nodeRandom } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeleteObjectsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { utf8 } from '../src/bytes.ts';
import { IndexedStore, openS3Store } from '../src/storage/index.ts';
import { snapshotKey } from '../src/storage/indexed.ts';
import { tileAt, tilePath } from '../src/tiles/index.ts';

const N = Number(process.env.BENCH_TAKEOVER_ENTRIES ?? 10_000_000);
const C = 65_536;
const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const bucket = 'tilelog-test';
const prefix = `takeover-${process.pid}-${Date.now()}`;
const raw = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
const put = (key: string, body: Uint8Array) =>
  raw.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: body }));
const written: string[] = [];
const randomBytes = (n: number) => new Uint8Array(nodeRandom(n));

async function parallel<T>(items: T[], k: number, f: (t: T) => Promise<unknown>) {
  let i = 0;
  await Promise.all(
    Array.from({ length: k }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

const t0 = performance.now();
const chunks = Array.from({ length: Math.floor(N / C) }, (_, k) => k);
await parallel(chunks, 8, async (k) => {
  await put(snapshotKey(k), randomBytes(C * 32));
  written.push(snapshotKey(k));
});
const tail = [];
for (let n = Math.floor((chunks.length * C) / 256); n * 256 < N; n++) tail.push(tileAt(0, n, N)!);
await parallel(tail, 16, async (t) => {
  await put(tilePath(t), randomBytes(t.width * 32));
  written.push(tilePath(t));
});
await put('lock', utf8(`bench.example/takeover\n${N}\nAAAA\n`));
written.push('lock');
console.log(
  `built ${N} entries: ${chunks.length} chunks + ${tail.length} tiles in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const open = async (dir: string) =>
  IndexedStore.open(await openS3Store({ bucket, prefix, endpoint, forcePathStyle: true }), dir);
const dir = join(mkdtempSync(join(tmpdir(), 'takeover-')), 'dedup');
const cold = await open(dir);
const t1 = performance.now();
await cold.readLock();
const coldMs = performance.now() - t1;
console.log(
  `cold takeover (empty local index) at ${N}: ${(coldMs / 1000).toFixed(1)} s, indexed ${await cold.indexedSize()}`,
);
await cold.close();
// Warm: the same local index, 1,000 entries behind (a frontend that kept up): the tail tiles only.
const more = N + 1000;
for (let n = Math.floor(N / 256); n * 256 < more; n++) {
  const t = tileAt(0, n, more)!;
  await put(tilePath(t), randomBytes(t.width * 32));
  written.push(tilePath(t));
}
await put('lock', utf8(`bench.example/takeover\n${more}\nAAAA\n`));
const warm = await open(dir);
const t2 = performance.now();
await warm.readLock();
console.log(
  `warm takeover (1,000 entries behind) at ${more}: ${(performance.now() - t2).toFixed(0)} ms`,
);
await warm.close();
for (let i = 0; i < written.length; i += 1000)
  await raw.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: { Objects: written.slice(i, i + 1000).map((k) => ({ Key: `${prefix}/${k}` })) },
    }),
  );
raw.destroy();
