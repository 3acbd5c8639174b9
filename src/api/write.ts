/**
 * POST add: the generic write path. The body is the raw entry; the answer comes once a checkpoint
 * containing it is committed, with the inclusion proof against that checkpoint.
 */
import type { Context } from 'hono';

import { toBase64 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { FROZEN_MESSAGE, type Log } from '../sequencer/index.ts';
import { MAX_ENTRY_SIZE } from '../tiles/index.ts';
import { readBody } from './body.ts';

/** postAdd sequences the request body as one entry. */
export async function postAdd(c: Context, log: Log): Promise<Response> {
  if (log.frozen) throw new LogError('frozen', FROZEN_MESSAGE);
  const entry = await readBody(c, MAX_ENTRY_SIZE);
  const r = await log.add(entry);
  const hashes = await log.reader.proveInclusion(r.index, r.size);
  return c.json({ index: String(r.index), checkpoint: r.note, hashes: hashes.map(toBase64) });
}
