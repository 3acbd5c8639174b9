// The pool's batching clock: a batch goes to the sequencer when it holds maxBatch entries or its
// oldest entry is the batch age old, the age asked of batchAgeMs (a cluster frontend forwards
// every 50 ms, its sequencer role every maxAgeMs) each time a batch starts to fill.
import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { EMPTY_ROOT } from '../../src/merkle/index.ts';
import { ManualClock } from '../../src/sequencer/clock.ts';
import { Pool, type Sequenced } from '../../src/sequencer/pool.ts';
import type { Pending } from '../../src/sequencer/sequence.ts';

const empty = { note: '', checkpoint: { origin: 'o', size: 0, root: EMPTY_ROOT, extensions: [] } };

function setup(batchAgeMs?: () => number) {
  const clock = new ManualClock();
  const batches: number[][] = [];
  let next = 0;
  const sequencer = {
    sequence: (batch: readonly Pending[]): Promise<Sequenced[]> => {
      batches.push(batch.map((p) => Number(new TextDecoder().decode(p.entry))));
      return Promise.resolve(batch.map(() => ({ index: next++, duplicate: false })));
    },
  };
  const pool = new Pool(sequencer, empty, {
    maxBatch: 4,
    maxAgeMs: 10,
    batchAgeMs,
    maxPending: 100,
    deadlineMs: 60_000,
    clock,
  });
  const add = (i: number) => void pool.add(utf8(String(i))).catch(() => undefined);
  return { clock, batches, add };
}

describe('Pool batching', () => {
  it('sends a batch when its oldest entry is maxAgeMs old, or at once when it is full', async () => {
    const { clock, batches, add } = setup();
    add(1);
    add(2);
    await clock.advance(9);
    expect(batches).toEqual([]);
    await clock.advance(1);
    expect(batches).toEqual([[1, 2]]);
    add(3);
    await clock.advance(5);
    for (const i of [4, 5, 6]) add(i);
    await clock.advance(0);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
    add(7);
    await clock.advance(9);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
    await clock.advance(1);
    expect(batches).toEqual([[1, 2], [3, 4, 5, 6], [7]]);
  });

  it('asks batchAgeMs for the age each time a batch starts to fill', async () => {
    let age = 50;
    const { clock, batches, add } = setup(() => age);
    add(1);
    await clock.advance(49);
    add(2);
    expect(batches).toEqual([]);
    await clock.advance(1);
    expect(batches).toEqual([[1, 2]]);
    age = 10; // the instance became the sequencer
    add(3);
    await clock.advance(10);
    expect(batches).toEqual([[1, 2], [3]]);
    for (const i of [4, 5, 6, 7]) add(i);
    await clock.advance(0);
    expect(batches).toEqual([[1, 2], [3], [4, 5, 6, 7]]);
  });
});
