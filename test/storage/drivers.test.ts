import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IndexedStore, LevelStore, type LogStore, openS3Store } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { storageContract } from './contract.ts';

storageContract('memory', { open: async () => new MemoryStore() });

const paths = new WeakMap<LogStore, string>();
storageContract('leveldb', {
  async open() {
    const dir = join(mkdtempSync(join(tmpdir(), 'tilelog-')), 'db');
    const s = await LevelStore.open(dir);
    paths.set(s, dir);
    return s;
  },
  async reopen(s) {
    const dir = paths.get(s)!;
    await s.close();
    const again = await LevelStore.open(dir);
    paths.set(again, dir);
    return again;
  },
});

// S3: a real server (Ceph RGW started by tools/ceph-rgw.sh, see test/setup/s3.ts), never a mock.
const s3Endpoint = process.env.TILELOG_TEST_S3_ENDPOINT;
if (!s3Endpoint)
  throw new Error('TILELOG_TEST_S3_ENDPOINT is not set: the S3 global setup did not run');
let s3Count = 0;
const s3Prefixes = new WeakMap<LogStore, string>();
const s3Open = async (prefix: string) => {
  const s = await openS3Store({
    bucket: 'tilelog-test',
    prefix,
    endpoint: s3Endpoint,
    forcePathStyle: true,
  });
  s3Prefixes.set(s, prefix);
  return s;
};
storageContract('s3 (Ceph RGW)', {
  open: () => s3Open(`contract-${process.pid}-${Date.now()}-${s3Count++}`),
  async reopen(s) {
    const prefix = s3Prefixes.get(s)!;
    await s.close();
    return s3Open(prefix);
  },
});

// The S3 layout `serve --storage s3://…` uses: objects in S3, the dedup index on local disk.
storageContract('s3 + local dedup index', {
  open: async () =>
    IndexedStore.open(
      await s3Open(`indexed-${process.pid}-${Date.now()}-${s3Count++}`),
      join(mkdtempSync(join(tmpdir(), 'tilelog-idx-')), 'dedup'),
    ),
});
