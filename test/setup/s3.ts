// Vitest global setup: a real S3 server for the storage tests. Uses TILELOG_TEST_S3_ENDPOINT if
// it is set (CI or a developer's own server); otherwise starts Ceph RGW with tools/ceph-rgw.sh
// (installing its Debian packages if needed) and stops it afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';

let started: string | null = null;

export async function setup(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testsecret';
  process.env.AWS_REGION ??= 'us-east-1';
  // A single-node Ceph occasionally fails to come up (an OSD that loses its first exchange with
  // the monitor); a fresh directory and fresh ports on the next attempt have always worked.
  for (let attempt = 1; !process.env.TILELOG_TEST_S3_ENDPOINT; attempt++) {
    started = join(mkdtempSync(join(tmpdir(), 'tilelog-ceph-')), 'c');
    // Ports of our own, so a Ceph left running elsewhere on this machine does not get in the way.
    const base = 20000 + Math.floor(Math.random() * 20000);
    const env = { ...process.env, CEPH_RGW_PORT: String(base), CEPH_MON_PORT: String(base + 1) };
    try {
      const out = execFileSync('bash', ['tools/ceph-rgw.sh', 'start', started], {
        encoding: 'utf8',
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      process.env.TILELOG_TEST_S3_ENDPOINT = out.trim().split('\n').at(-1);
    } catch (err) {
      execFileSync('bash', ['tools/ceph-rgw.sh', 'stop', started]);
      if (attempt >= 3) throw err;
      console.error(`Ceph RGW did not start (attempt ${attempt}); trying again`);
    }
  }
  const client = new S3Client({
    endpoint: process.env.TILELOG_TEST_S3_ENDPOINT,
    forcePathStyle: true,
    region: 'us-east-1',
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: 'tilelog-test' }));
  } catch (err) {
    const name = err instanceof S3ServiceException ? err.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  } finally {
    client.destroy();
  }
}

export async function teardown(): Promise<void> {
  if (started) execFileSync('bash', ['tools/ceph-rgw.sh', 'stop', started], { stdio: 'inherit' });
}
