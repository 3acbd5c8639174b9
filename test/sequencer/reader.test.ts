// A frontend's reader is cold for every new checkpoint: no commit of its own primes its cache.
// A publication answers many submitters at once, each with an inclusion proof against it, and
// every one of those proofs misses the cache on the same new tiles. Under load that was one S3
// GET per tile per answer (most of a frontend's CPU in the S3 cluster bench); concurrent proofs
// now share one read of each tile.
import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { checkInclusion, leafHash } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { TileReader } from '../../src/sequencer/reader.ts';
import { MemoryStore } from '../../src/storage/memory.ts';

const ORIGIN = 'log.example.test/reader';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);
const e = (i: number) => utf8(`reader entry ${i}`);

// CountingStore counts how often each key is read (the store itself is a real MemoryStore).
class CountingStore extends MemoryStore {
  readonly reads = new Map<string, number>();
  override async getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    for (const k of keys) this.reads.set(k, (this.reads.get(k) ?? 0) + 1);
    // Slow enough that the proofs below overlap, as S3 GETs do.
    await new Promise((r) => setTimeout(r, 5));
    return super.getMany(keys);
  }
}

describe('TileReader', () => {
  it('reads each tile once for many concurrent proofs on a cold cache', async () => {
    const store = new CountingStore();
    const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1, maxBatch: 1000 });
    const n = 70_000 + 123; // three tile levels, partial tiles at each
    await Promise.all(Array.from({ length: n }, (_, i) => log.add(e(i))));
    const { note } = log.state;
    const cp = parseCheckpoint(openNote(note, [verifier]).text);
    expect(cp.size).toBe(n);
    store.reads.clear();

    const cold = new TileReader(store, () => cp.size);
    const indexes = Array.from({ length: 200 }, (_, i) => n - 1 - i * 7);
    const proofs = await Promise.all(indexes.map((i) => cold.proveInclusion(i, cp.size)));
    proofs.forEach((p, j) =>
      checkInclusion(indexes[j]!, cp.size, leafHash(e(indexes[j]!)), p, cp.root),
    );
    expect(store.reads.size).toBeGreaterThan(0);
    for (const [key, count] of store.reads) expect([key, count]).toEqual([key, 1]);
    await log.close();
  }, 60_000);

  it('answers a proof a forward answer carried without reading tiles, once', async () => {
    const store = new CountingStore();
    const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.add(e(i))));
    const cp = parseCheckpoint(openNote(log.state.note, [verifier]).text);
    const proof = await new TileReader(store, () => cp.size).proveInclusion(299, cp.size);
    store.reads.clear();

    const cold = new TileReader(store, () => cp.size);
    cold.keepProof(299, cp.size, proof);
    expect(await cold.proveInclusion(299, cp.size)).toEqual(proof);
    expect(store.reads.size).toBe(0);
    // Taken: the next ask for the same pair computes it from the tiles (the same proof).
    expect(await cold.proveInclusion(299, cp.size)).toEqual(proof);
    expect(store.reads.size).toBeGreaterThan(0);
    await log.close();
  });
});
