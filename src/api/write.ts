/**
 * POST add: the generic write path. The body is the raw entry; the answer comes once a checkpoint
 * containing it is committed, with the inclusion proof against that checkpoint.
 */
import type { Context } from 'hono';

import { assert, LogError } from '../errors.ts';
import { FROZEN_MESSAGE, type Log } from '../sequencer/index.ts';
import { MAX_ENTRY_SIZE } from '../tiles/index.ts';
import { hashesBase64, hashesBase64Run, noteJson } from './answer.ts';
import { readBody } from './body.ts';

// The header c.json sets: the answer is the same, only written out without JSON.stringify.
const JSON_TYPE = { 'Content-Type': 'application/json' } as const;

/** postAdd sequences the request body as one entry. */
export async function postAdd(c: Context, log: Log): Promise<Response> {
  if (log.frozen) throw new LogError('frozen', FROZEN_MESSAGE);
  const entry = await readBody(c, MAX_ENTRY_SIZE);
  const r = await log.add(entry);
  const hashes = await log.reader.proveInclusion(r.index, r.size);
  return c.body(addAnswer(r.index, r.note, hashes), 200, JSON_TYPE);
}

const [QUOTE, COMMA, PAD] = [0x22, 0x2c, 0x3d];

/**
 * addAnswer writes POST add's answer, the UTF-8 of JSON.stringify({ index: String(index),
 * checkpoint: note, hashes: hashes in base64 }), straight into one buffer: the note's JSON once
 * per commit (answer.ts), and the hashes' base64 as one run written once and moved into place
 * (hashesBase64Run), no string per hash. Under POST add at 512 connections, JSON.stringify,
 * base64 and encoding cost ~20 µs of the main thread per request.
 */
export function addAnswer(
  index: number,
  note: string,
  hashes: readonly Uint8Array[],
): Buffer<ArrayBuffer> {
  const run = hashesBase64Run(hashes);
  if (run === null) return addAnswerEach(index, note, hashesBase64(hashes));
  const noteBytes = noteJson(note);
  const head = `{"index":"${index}","checkpoint":`;
  const k = hashes.length;
  // Hash i goes to at + 47i as "<43 characters>=", (a comma but after the last). The run is
  // written at at + 3k: hash i's 44 characters start 3(k - i) - 1 bytes after where they go, so
  // moving them in order, with their quotes, pad and comma, never overwrites one not yet moved.
  const at = head.length + noteBytes.length + ',"hashes":['.length;
  const out = Buffer.allocUnsafe(at + 47 * k + (k > 0 ? 1 : 2));
  let o = out.write(head, 0, 'latin1');
  o += noteBytes.copy(out, o);
  o += out.write(',"hashes":[', o, 'latin1');
  assert(o === at, 'api: bad math in addAnswer');
  out.write(run, at + 3 * k, 'latin1');
  for (let i = 0; i < k; i++) {
    const d = at + 47 * i;
    out[d] = QUOTE;
    out.copyWithin(d + 1, at + 3 * k + 44 * i, at + 3 * k + 44 * i + 43);
    out[d + 44] = PAD;
    out[d + 45] = QUOTE;
    out[d + 46] = COMMA;
  }
  const end = at + 47 * k - (k > 0 ? 1 : 0);
  assert(end + out.write(']}', end, 'latin1') === out.length, 'api: bad math in addAnswer');
  return out;
}

// addAnswerEach is addAnswer for hashes that are not all 32 bytes long, from their base64.
function addAnswerEach(index: number, note: string, b64: readonly string[]): Buffer<ArrayBuffer> {
  const noteBytes = noteJson(note);
  const head = `{"index":"${index}","checkpoint":`;
  let size = head.length + noteBytes.length + ',"hashes":[]}'.length;
  for (const h of b64) size += h.length + 3; // quotes and a comma
  const out = Buffer.allocUnsafe(size - (b64.length > 0 ? 1 : 0));
  let o = out.write(head, 0, 'latin1');
  o += noteBytes.copy(out, o);
  o += out.write(',"hashes":[', o, 'latin1');
  for (let i = 0; i < b64.length; i++) {
    if (i > 0) out[o++] = COMMA;
    out[o++] = QUOTE;
    o += out.write(b64[i]!, o, 'latin1');
    out[o++] = QUOTE;
  }
  o += out.write(']}', o, 'latin1');
  assert(o === out.length, 'api: bad math in addAnswer');
  return out;
}
