/**
 * An admission worker thread (started by pool.ts): it admits each batch of CreateEntryRequest
 * bodies exactly as the request path does inline (parseJson, then admitCreateEntry), so a
 * refusal carries the same code and one-line message either way.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { LogError } from '../errors.ts';
import { type Answer, item, type Job, pack, type Verdict } from './batch.ts';
import type { AdmitOptions } from './hashedrekord.ts';
import { admitCreateEntry } from './index.ts';
import { parseJson } from './protojson.ts';

/** admitBatch admits every request of a job; it never throws. */
export function admitBatch(job: Job, opts: AdmitOptions): Answer {
  const bodies: Uint8Array[] = [];
  const verdicts = job.ends.map((_, i): Verdict => {
    try {
      const a = admitCreateEntry(parseJson(item(job, i)), opts);
      bodies.push(a.body);
      return { kind: a.kind, version: a.version };
    } catch (e) {
      bodies.push(new Uint8Array(0));
      if (e instanceof LogError) return { code: e.code, message: e.message };
      return { bug: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
  });
  return { id: job.id, bodies: pack(bodies), verdicts };
}

const port = parentPort;
if (port) {
  const opts = workerData as AdmitOptions;
  port.on('message', (job: Job) => {
    const answer = admitBatch(job, opts);
    port.postMessage(answer, [answer.bodies.data.buffer as ArrayBuffer]);
  });
}
