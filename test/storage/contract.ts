// The storage contract suite (src/storage/storage.ts), run over every driver.
import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import type { LogStore } from '../../src/storage/index.ts';

export interface DriverHarness {
  /** open returns a fresh, empty store. */
  open(): Promise<LogStore>;
  /** reopen closes store and opens the same data again (absent for non-durable drivers). */
  reopen?(store: LogStore): Promise<LogStore>;
}

const b = (s: string) => utf8(s);

export function storageContract(name: string, h: DriverHarness): void {
  describe(`storage contract: ${name}`, () => {
    it('returns null for missing keys and no lock for a new store', async () => {
      const s = await h.open();
      expect(await s.get('tile/0/000')).toBeNull();
      expect(await s.getMany(['a', 'b'])).toEqual([null, null]);
      expect(await s.getMany([])).toEqual([]);
      expect(await s.readLock()).toBeNull();
      await s.close();
    });

    it('commits objects and the lock together, readable right after', async () => {
      const s = await h.open();
      await s.commit({
        expected: null,
        next: b('L1'),
        objects: [
          { key: 'tile/0/000.p/1', value: b('x') },
          { key: 'checkpoint', value: b('c1') },
        ],
      });
      expect(await s.readLock()).toEqual(b('L1'));
      expect(await s.get('tile/0/000.p/1')).toEqual(b('x'));
      expect(await s.getMany(['checkpoint', 'nope', 'tile/0/000.p/1'])).toEqual([
        b('c1'),
        null,
        b('x'),
      ]);
      await s.commit({
        expected: b('L1'),
        next: b('L2'),
        objects: [
          { key: 'tile/0/000.p/1', value: null },
          { key: 'tile/0/000.p/2', value: b('xy') },
        ],
      });
      expect(await s.get('tile/0/000.p/1')).toBeNull();
      expect(await s.get('tile/0/000.p/2')).toEqual(b('xy'));
      await s.close();
    });

    it('refuses a commit from a stale lock with conflict and changes nothing', async () => {
      const s = await h.open();
      await s.commit({ expected: null, next: b('L1'), objects: [] });
      for (const expected of [null, b('L0'), b('L1x')]) {
        const err = await s
          .commit({ expected, next: b('L9'), objects: [{ key: 'k', value: b('v') }] })
          .catch((e) => e);
        expect(err).toBeInstanceOf(LogError);
        expect(err.code).toBe('conflict');
      }
      expect(await s.readLock()).toEqual(b('L1'));
      expect(await s.get('k')).toBeNull();
      await s.close();
    });

    it('lets exactly one of two racing commits from the same lock win', async () => {
      const s = await h.open();
      await s.commit({ expected: null, next: b('L1'), objects: [] });
      const results = await Promise.allSettled([
        s.commit({ expected: b('L1'), next: b('A'), objects: [{ key: 'who', value: b('A') }] }),
        s.commit({ expected: b('L1'), next: b('B'), objects: [{ key: 'who', value: b('B') }] }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lock = await s.readLock();
      expect(await s.get('who')).toEqual(lock);
      await s.close();
    });

    it('is idempotent: rewriting the same bytes and deleting a missing key are harmless', async () => {
      const s = await h.open();
      await s.commit({
        expected: null,
        next: b('L1'),
        objects: [
          { key: 'k', value: b('v') },
          { key: 'gone', value: null },
        ],
      });
      await s.commit({ expected: b('L1'), next: b('L2'), objects: [{ key: 'k', value: b('v') }] });
      expect(await s.get('k')).toEqual(b('v'));
      await s.close();
    });

    it('keeps its own copy: mutating a buffer after a call changes nothing stored', async () => {
      const s = await h.open();
      const v = b('value');
      const lock = b('L1');
      await s.commit({ expected: null, next: lock, objects: [{ key: 'k', value: v }] });
      v[0] = 0;
      lock[0] = 0;
      expect(await s.get('k')).toEqual(b('value'));
      expect(await s.readLock()).toEqual(b('L1'));
      await s.close();
    });

    // Only durable drivers have a reopen; the memory driver makes no durability promise.
    if (h.reopen)
      it('keeps every committed object and the lock across a reopen', async () => {
        let s = await h.open();
        await s.commit({
          expected: null,
          next: b('L1'),
          objects: [{ key: 'tile/entries/000', value: new Uint8Array(70000).fill(3) }],
        });
        s = await h.reopen!(s);
        expect(await s.readLock()).toEqual(b('L1'));
        expect((await s.get('tile/entries/000'))!.length).toBe(70000);
        await s.commit({ expected: b('L1'), next: b('L2'), objects: [] });
        await s.close();
      });
  });
}
