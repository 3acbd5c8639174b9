import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore, MemoryStore, type LogStore } from '../../src/storage/index.ts';
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
