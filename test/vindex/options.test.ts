// The map's LevelDB options (MAP_LEVELDB) on a map written under other options: a map whose
// tables were compressed (LevelDB's default, used before) goes on under MAP_LEVELDB, and every
// root and lookup is what a map written under one set of options from the start gives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { toHex, u64be } from '../../src/bytes.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import { keyHash, MAP_LEVELDB, MapStore } from '../../src/vindex/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tilelog-vindex-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Entry i maps to a key of its own and one of 7 shared keys.
const mapFn = (e: Uint8Array) => ({
  keys: [`own:${toHex(e)}`, `shared:${e[7]! % 7}`],
  problems: [],
});

// Small tables and memtable, so that the entries reach tables (and compactions) at all.
const SMALL = { writeBufferSize: 64 << 10, maxFileSize: 64 << 10 };

async function grow(path: string, phases: object[], perPhase: number) {
  const roots: string[] = [];
  let i = 0;
  for (const opts of phases) {
    const kv = await openLocalMap(path, { ...SMALL, ...opts });
    const map = new MapStore(kv, mapFn, { part: 64 });
    let state = await map.state();
    for (let end = i + perPhase; i < end; i += 500) {
      const entries = Array.from({ length: 500 }, (_, j) => ({
        index: i + j,
        entry: u64be(i + j),
      }));
      const edge = { size: i + 500, levels: [], bundle: [] };
      state = await map.apply(state, entries, { ...state, edge });
      roots.push(toHex(state.root!.hash));
    }
    const values = [];
    for (const k of ['shared:3', 'own:0000000000000001', 'own:ffffffffffffffff'])
      values.push(await map.value(keyHash(k)));
    await kv.close();
    roots.push(JSON.stringify(values.map((v) => [v.size, toHex(v.listRoot)])));
  }
  return roots;
}

describe('map storage options', () => {
  it('goes on with a map whose tables were compressed, as if written one way throughout', async () => {
    const mixed = await grow(join(dir, 'mixed'), [{ compression: true }, MAP_LEVELDB], 6000);
    const plain = await grow(join(dir, 'plain'), [MAP_LEVELDB, MAP_LEVELDB], 6000);
    const packed = await grow(
      join(dir, 'packed'),
      [{ compression: true }, { compression: true }],
      6000,
    );
    expect(mixed).toEqual(plain);
    expect(mixed).toEqual(packed);
    expect(MAP_LEVELDB.compression).toBe(false);
  });
});
