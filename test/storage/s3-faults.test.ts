// Storage faults on a real S3 server, for every class of write a commit makes (staging object,
// lock, hash tile, entry bundle, published checkpoint), each failing before it reaches the server
// and after the server has stored it. The log must recover, publish nothing inconsistent and lose
// nothing it acknowledged.
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { checkConsistency } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { fsck, Log } from '../../src/sequencer/index.ts';
import { openS3Store } from '../../src/storage/index.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const ORIGIN = 'log.example.test/faults';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);

type When = 'before' | 'after';
const CLASSES: [string, RegExp][] = [
  ['staging', /\/staging\//],
  ['lock', /\/lock$/],
  ['tile', /\/tile\/[0-9]/],
  ['bundle', /\/tile\/entries\//],
  ['checkpoint', /\/checkpoint$/],
];

function injector(fault: { match: RegExp | null; when: When; fired: number }) {
  return (client: S3Client) => {
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string };
        const hit = fault.match?.test(input.Key ?? '') ?? false;
        if (hit && fault.when === 'before') {
          fault.fired++;
          fault.match = null;
          throw new Error('injected fault before the write');
        }
        const out = await next(args);
        if (hit && fault.when === 'after') {
          fault.fired++;
          fault.match = null;
          throw new Error('injected fault after the write');
        }
        return out;
      },
      { step: 'initialize', name: 'faults' },
    );
  };
}

describe('S3 write faults', () => {
  for (const [name, match] of CLASSES) {
    for (const when of ['before', 'after'] as const) {
      it(`recovers from a ${name} write failing ${when} it is stored`, async () => {
        const prefix = `faults-${name}-${when}-${process.pid}-${Date.now()}`;
        const fault = { match: null as RegExp | null, when, fired: 0 };
        const store = await openS3Store({
          bucket: 'tilelog-test',
          prefix,
          endpoint,
          forcePathStyle: true,
          configure: injector(fault),
        });
        const log = await Log.open(store, {
          origin: ORIGIN,
          signer,
          maxAgeMs: 2,
          keepPartials: true,
        });
        const acked = new Map<string, number>();
        const notes: string[] = [];
        const add = async (e: string) => {
          try {
            const r = await log.add(utf8(e));
            acked.set(e, r.index);
            notes.push(r.note);
          } catch (err) {
            expect((err as { code?: string }).code, e).toBe('unavailable');
          }
        };
        await Promise.all(Array.from({ length: 300 }, (_, i) => add(`before ${i}`)));
        fault.match = new RegExp(prefix + match.source.replace(/^\\\//, '/'));
        await Promise.all(Array.from({ length: 40 }, (_, i) => add(`during ${i}`)));
        expect(fault.fired).toBe(1);
        // Retry everything refused, and go on.
        await Promise.all(Array.from({ length: 40 }, (_, i) => add(`during ${i}`)));
        await Promise.all(Array.from({ length: 20 }, (_, i) => add(`after ${i}`)));
        await log.close();
        await store.close();
        // A fresh client finishes any staged commit, and the whole store verifies.
        const fresh = await openS3Store({
          bucket: 'tilelog-test',
          prefix,
          endpoint,
          forcePathStyle: true,
        });
        const report = await fsck(fresh, verifier, ORIGIN);
        expect(report.size).toBe(360);
        const reopened = await Log.open(fresh, { origin: ORIGIN, signer });
        const latest = reopened.state.checkpoint;
        const again = await Promise.all([...acked.keys()].map((e) => reopened.add(utf8(e))));
        [...acked.values()].forEach((index, i) => expect(again[i]!.index).toBe(index));
        for (const n of notes) {
          const cp = parseCheckpoint(openNote(n, [verifier]).text);
          if (cp.size < latest.size)
            checkConsistency(
              cp.size,
              latest.size,
              cp.root,
              latest.root,
              await reopened.reader.proveConsistency(cp.size, latest.size),
            );
        }
        await reopened.close();
        await fresh.close();
      }, 60_000);
    }
  }
});
