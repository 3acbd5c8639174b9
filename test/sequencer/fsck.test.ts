import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../src/note/index.ts';
import { fsck, Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';

const ORIGIN = 'log.example.test/fsck';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);

async function build(n: number) {
  const store = new MemoryStore();
  const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1, maxBatch: 1000 });
  await Promise.all(Array.from({ length: n }, (_, i) => log.add(utf8(`fsck ${i}`))));
  return store;
}

async function tamper(store: MemoryStore, key: string, value: Uint8Array | null) {
  const lock = await store.readLock();
  await store.commit({ expected: lock, next: lock!, objects: [{ key, value }] });
}

describe('fsck', () => {
  it('verifies every bundle and tile of a 70,000-entry log, reporting progress', async () => {
    const store = await build(70_000);
    const seen: number[] = [];
    const r = await fsck(store, verifier, ORIGIN, (done) => seen.push(done));
    expect(r).toEqual({ origin: ORIGIN, size: 70_000, bundles: 274, tiles: 273 + 2 + 1 + 1 });
    expect(seen.at(-1)).toBe(70_000);
  }, 60_000);

  it('names the first bad object: a changed tile, a missing bundle, a changed entry', async () => {
    const store = await build(600);
    await tamper(store, 'tile/0/001', new Uint8Array(8192));
    await expect(fsck(store, verifier, ORIGIN)).rejects.toThrow(/tile\/0\/001 does not match/);
    const s2 = await build(600);
    await tamper(s2, 'tile/entries/000', null);
    await expect(fsck(s2, verifier, ORIGIN)).rejects.toThrow(/tile\/entries\/000 is missing/);
    const s3 = await build(600);
    const bundle = (await s3.get('tile/entries/002.p/88'))!;
    bundle[bundle.length - 1]! ^= 1;
    await tamper(s3, 'tile/entries/002.p/88', bundle);
    await expect(fsck(s3, verifier, ORIGIN)).rejects.toThrow(/does not match|do not hash/);
  });

  it('refuses a store signed by another key', async () => {
    const store = await build(10);
    const other = parseVerifierKey(parseSignerKey(generateSignerKey(ORIGIN)).verifierKey);
    await expect(fsck(store, other, ORIGIN)).rejects.toMatchObject({ code: 'corrupt' });
  });
});
