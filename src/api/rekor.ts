/**
 * The Rekor v2 write API: POST /api/v2/log/entries takes a protojson CreateEntryRequest and,
 * once a checkpoint containing the entry is committed, answers 201 with a TransparencyLogEntry
 * in protojson (int64 as strings, bytes as base64, unpopulated fields emitted) as rekor-tiles
 * does. Errors are grpc-gateway status objects with a message that names the problem.
 */
import type { Context } from 'hono';

import { toBase64 } from '../bytes.ts';
import { admitCreateEntry, type AdmitOptions, parseJson } from '../entries/index.ts';
import { LogError } from '../errors.ts';
import { FROZEN_MESSAGE, type Log } from '../sequencer/index.ts';
import { MAX_ENTRY_SIZE } from '../tiles/index.ts';
import { readBody } from './body.ts';

/** MAX_REQUEST_SIZE is rekor-tiles' default request body limit (4 MiB). */
export const MAX_REQUEST_SIZE = 4 << 20;

/** postEntry admits, sequences and answers one CreateEntryRequest. */
export async function postEntry(c: Context, log: Log, opts: AdmitOptions): Promise<Response> {
  if (log.frozen) throw new LogError('frozen', FROZEN_MESSAGE);
  const raw = await readBody(c, MAX_REQUEST_SIZE);
  const admitted = admitCreateEntry(parseJson(raw), opts);
  if (admitted.body.length > MAX_ENTRY_SIZE) {
    throw new LogError(
      'too_large',
      `canonical entry of ${admitted.body.length} bytes is over ${MAX_ENTRY_SIZE}`,
    );
  }
  const r = await log.add(admitted.body);
  if (r.duplicate) {
    c.header('x-log-index', String(r.index));
    return c.json(
      {
        code: 6,
        message: `an equivalent entry already exists in the transparency log with index ${r.index}`,
        details: [],
      },
      409,
    );
  }
  const hashes = await log.reader.proveInclusion(r.index, r.size);
  const root = rootLine(r.note);
  const index = String(r.index);
  return c.json(
    {
      logIndex: index,
      logId: { keyId: toBase64(log.logKeyId) },
      kindVersion: { kind: admitted.kind, version: admitted.version },
      integratedTime: '0',
      inclusionPromise: null,
      inclusionProof: {
        logIndex: index,
        rootHash: root,
        treeSize: String(r.size),
        hashes: hashes.map(toBase64),
        checkpoint: { envelope: r.note },
      },
      canonicalizedBody: toBase64(admitted.body),
    },
    201,
  );
}

// The root line of a checkpoint note: the root hash, already in base64.
function rootLine(n: string): string {
  return n.split('\n')[2]!;
}

/** GRPC_CODE maps our error codes to the gRPC status codes grpc-gateway puts in error bodies. */
export const GRPC_CODE: Record<LogError['code'], number> = {
  bad_request: 3,
  not_found: 5,
  conflict: 10,
  too_large: 3,
  pushback: 14,
  unavailable: 14,
  frozen: 9,
  corrupt: 13,
  fatal: 13,
};
