// kill -9 during writes, restart, and check that nothing acknowledged was lost and that every
// checkpoint ever served is consistent with the one after recovery.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fromBase64, toHex, utf8 } from '../../src/bytes.ts';
import { checkConsistency } from '../../src/merkle/index.ts';
import { openNote, parseCheckpoint, parseVerifierKey } from '../../src/note/index.ts';
import { type Child, kill9, startChild, writeLoad } from '../helpers/server.ts';
import { verifyLog } from '../helpers/verify.ts';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);

// A poller records every checkpoint served while the writers run.
async function pollCheckpoints(c: Child, served: Set<string>, stop: { done: boolean }) {
  while (!stop.done) {
    try {
      served.add(await (await fetch(`${c.url}/checkpoint`)).text());
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('crash recovery (kill -9 of a real server on LevelDB)', () => {
  it(`loses nothing acknowledged and never forks, over ${ROUNDS} rounds`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-crash-'));
    const acked = new Map<string, number>();
    const served = new Set<string>();
    let child = await startChild(dir, ['--max-age-ms', '3', '--personality', 'generic']);
    const verifier = parseVerifierKey(child.vkey);
    for (let round = 0; round < ROUNDS; round++) {
      const stop = { done: false };
      const running = Promise.all([
        writeLoad(child.url, `round ${round}`, 16, acked, served, stop),
        pollCheckpoints(child, served, stop),
      ]);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 400));
      await kill9(child);
      stop.done = true;
      await running;
      child = await startChild(dir, ['--max-age-ms', '3', '--personality', 'generic']);
      const note = await (await fetch(`${child.url}/checkpoint`)).text();
      const latest = parseCheckpoint(openNote(note, [verifier]).text);
      const read = async (path: string) => {
        const r = await fetch(`${child.url}/${path}`);
        return r.status === 200 ? new Uint8Array(await r.arrayBuffer()) : null;
      };
      const entries = await verifyLog(note, verifier, read);
      const byEntry = new Map(entries.map((e, i) => [toHex(e), i]));
      for (const [entry, index] of acked)
        expect(byEntry.get(toHex(utf8(entry))), entry).toBe(index);
      for (const s of served) {
        const old = parseCheckpoint(openNote(s, [verifier]).text);
        expect(old.size).toBeLessThanOrEqual(latest.size);
        if (old.size === 0) continue;
        const r = await fetch(
          `${child.url}/proof/consistency?firstSize=${old.size}&lastSize=${latest.size}`,
        );
        const proof = ((await r.json()) as { hashes: string[] }).hashes.map((h) => fromBase64(h)!);
        checkConsistency(old.size, latest.size, old.root, latest.root, proof);
      }
    }
    console.log(
      `crash test: ${ROUNDS} rounds, ${acked.size} entries acknowledged, ${served.size} checkpoints served, 0 lost, 0 forks`,
    );
    expect(acked.size).toBeGreaterThan(0);
    await kill9(child);
  }, 120_000);
});
