// Two `tilelog serve` processes on one bucket under concurrent load (one sequences, elected by the
// lease; the other forwards to it); the second is killed with kill -9 at a random moment and
// restarted. test/cluster/failover.test.ts kills the sequencer itself. Then the bucket alone, read over plain HTTP as a static
// tlog-tiles log, must hold every acknowledged entry at its index, and every checkpoint either
// server answered with must be consistent with the final one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fromBase64, toHex, utf8 } from '../../src/bytes.ts';
import { checkConsistency } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { publicRead } from '../helpers/bucket.ts';
import { kill9, startChild, writeLoad } from '../helpers/server.ts';
import { verifyLog } from '../helpers/verify.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const bucket = 'tilelog-test';

describe('kill -9 of one of two S3 writers', () => {
  it('loses nothing acknowledged, forks nothing, and leaves a bucket that verifies over HTTP', async () => {
    const prefix = `crash-${process.pid}-${Date.now()}`;
    const origin = 'log.example.test/crash';
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-s3crash-'));
    const skey = generateSignerKey(origin);
    writeFileSync(join(dir, 'log.key'), skey + '\n');
    const args = [
      '--key',
      join(dir, 'log.key'),
      '--origin',
      origin,
      '--storage',
      `s3://${bucket}/${prefix}`,
      '--s3-endpoint',
      endpoint,
      '--s3-path-style',
      '--max-age-ms',
      '5',
      '--personality',
      'generic',
      '--cluster-secret',
      's3-crash test secret',
      '--lease-ms',
      '2000',
    ];
    await publicRead(endpoint, bucket);
    const a = await startChild(join(dir, 'a'), args);
    let b = await startChild(join(dir, 'b'), args);
    const verifier = parseVerifierKey(a.vkey);
    const acked = new Map<string, number>();
    const served = new Set<string>();
    const stopA = { done: false };
    const stopB = { done: false };
    const runA = writeLoad(a.url, 'a', 8, acked, served, stopA);
    let runB = writeLoad(b.url, 'b1', 8, acked, served, stopB);
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
    await kill9(b);
    stopB.done = true;
    await runB;
    b = await startChild(join(dir, 'b'), args);
    const stopB2 = { done: false };
    runB = writeLoad(b.url, 'b2', 8, acked, served, stopB2);
    await new Promise((r) => setTimeout(r, 800));
    stopA.done = stopB2.done = true;
    await Promise.all([runA, runB]);
    await kill9(a);
    await kill9(b);
    // The bucket alone, as a static tlog-tiles log over plain HTTP.
    const base = `${endpoint}/${bucket}/${prefix}`;
    const read = async (path: string) => {
      const r = await fetch(`${base}/${path}`);
      return r.status === 200 ? new Uint8Array(await r.arrayBuffer()) : null;
    };
    const note = new TextDecoder().decode((await read('checkpoint'))!);
    const latest = parseCheckpoint(openNote(note, [verifier]).text);
    const entries = await verifyLog(note, verifier, read, true);
    const at = new Map(entries.map((e, i) => [toHex(e), i]));
    for (const [entry, index] of acked) expect(at.get(toHex(utf8(entry))), entry).toBe(index);
    expect(acked.size).toBeGreaterThan(10);
    // Consistency of everything served with the final tree, proofs built from the bucket's tiles.
    const c = await startChild(join(dir, 'c'), args);
    for (const s of served) {
      const old = parseCheckpoint(openNote(s, [verifier]).text);
      expect(old.size).toBeLessThanOrEqual(latest.size);
      if (old.size === 0 || old.size === latest.size) continue;
      const r = await fetch(
        `${c.url}/proof/consistency?firstSize=${old.size}&lastSize=${latest.size}`,
      );
      if (r.status === 400) continue; // c's view may lag the final size by a refresh
      const proof = ((await r.json()) as { hashes: string[] }).hashes.map((h) => fromBase64(h)!);
      checkConsistency(old.size, latest.size, old.root, latest.root, proof);
    }
    await kill9(c);
  }, 120_000);
});
