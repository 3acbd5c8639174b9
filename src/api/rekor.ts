/**
 * The Rekor v2 write API: POST /api/v2/log/entries takes a protojson CreateEntryRequest and,
 * once a checkpoint containing the entry is committed, answers 201 with a TransparencyLogEntry
 * in protojson (int64 as strings, bytes as base64, unpopulated fields emitted) as rekor-tiles
 * does. Errors are grpc-gateway status objects with a message that names the problem.
 */
import type { Context } from 'hono';

import {
  type AdmissionPool,
  admitCreateEntry,
  type AdmitOptions,
  parseJson,
} from '../entries/index.ts';
import type { Log } from '../sequencer/index.ts';
import { readBody } from './body.ts';
import { checkWritable, entryBytes, logAdmitted } from './create.ts';

// The header c.json sets: the answer is the same, only written out without JSON.stringify.
const JSON_TYPE = { 'Content-Type': 'application/json' } as const;

/** MAX_REQUEST_SIZE is rekor-tiles' default request body limit (4 MiB). */
export const MAX_REQUEST_SIZE = 4 << 20;

/**
 * postEntry admits, sequences and answers one CreateEntryRequest; admission runs on pool when
 * given (the same verdicts and refusals as inline, on another core).
 */
export async function postEntry(
  c: Context,
  log: Log,
  opts: AdmitOptions,
  pool?: AdmissionPool,
): Promise<Response> {
  checkWritable(log);
  const raw = await readBody(c, MAX_REQUEST_SIZE);
  const admitted = pool ? await pool.admit(raw) : admitCreateEntry(parseJson(raw), opts);
  checkWritable(log);
  const r = await logAdmitted(log, admitted);
  if (r.duplicate !== undefined) {
    c.header('x-log-index', String(r.duplicate));
    return c.json({ code: 6, message: r.message, details: [] }, 409);
  }
  return c.body(entryBytes(r.entry), 201, JSON_TYPE);
}
