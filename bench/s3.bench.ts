// Sequencing on Ceph RGW over loopback: entries/s committed and published with one writer and
// with two writers on the same bucket prefix (in process, each with its own S3 client). Starts
// its own Ceph with tools/ceph-rgw.sh unless TILELOG_TEST_S3_ENDPOINT is set.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

import { utf8 } from '../src/bytes.ts';
import { generateSignerKey, parseSignerKey } from '../src/note/index.ts';
import { Log } from '../src/sequencer/index.ts';
import { IndexedStore, openS3Store } from '../src/storage/index.ts';
import { machine, rate, report } from './util.ts';

const N = Number(process.env.BENCH_S3_ENTRIES ?? 20_000);
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testsecret';
let endpoint = process.env.TILELOG_TEST_S3_ENDPOINT;
let cephDir: string | undefined;
if (!endpoint) {
  cephDir = join(mkdtempSync(join(tmpdir(), 'bench-ceph-')), 'c');
  endpoint = execFileSync('bash', ['tools/ceph-rgw.sh', 'start', cephDir], {
    encoding: 'utf8',
    env: { ...process.env, CEPH_RGW_PORT: '27580', CEPH_MON_PORT: '27581' },
  })
    .trim()
    .split('\n')
    .at(-1)!;
}
const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
await client.send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => undefined);
client.destroy();

async function run(writers: number): Promise<number> {
  const prefix = `bench-${writers}-${Date.now()}`;
  const signer = parseSignerKey(generateSignerKey('bench.example/s3'));
  const logs: Log[] = [];
  for (let w = 0; w < writers; w++) {
    const objects = await openS3Store({ bucket: 'bench', prefix, endpoint, forcePathStyle: true });
    // As `serve --storage s3://…` does: the dedup index in a local LevelDB per writer.
    const store = await IndexedStore.open(
      objects,
      join(mkdtempSync(join(tmpdir(), 'bench-dedup-')), 'dedup'),
    );
    logs.push(
      await Log.open(store, {
        origin: 'bench.example/s3',
        signer,
        maxBatch: 4096,
        maxAgeMs: 50,
        maxPending: N,
        keepPartials: true,
      }),
    );
  }
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      logs[i % writers]!.add(utf8(`s3 bench entry ${i} ${'x'.repeat(200)}`)),
    ),
  );
  const r = rate(N, performance.now() - t0);
  for (const l of logs) await l.close();
  return r;
}

console.log(
  `# S3 (Ceph RGW, memstore, loopback): ${N.toLocaleString()} × ~220-byte entries; ${machine()}`,
);
const one = await run(1);
const two = await run(2);
report('one writer (entries/s committed)', one, 'entries/s', 5000, 'aim', '≥ 5,000');
report('two writers on one bucket', two, 'entries/s', one, 'one writer');
if (cephDir) execFileSync('bash', ['tools/ceph-rgw.sh', 'stop', cephDir]);
