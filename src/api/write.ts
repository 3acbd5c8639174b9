/**
 * POST add: the generic write path. The body is the raw entry; the answer comes once a checkpoint
 * containing it is committed, with the inclusion proof against that checkpoint.
 */
import type { Context } from 'hono';

import { assert, LogError } from '../errors.ts';
import { FROZEN_MESSAGE, type Log } from '../sequencer/index.ts';
import { MAX_ENTRY_SIZE } from '../tiles/index.ts';
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

// The note of the last answer as JSON text in UTF-8: every entry of a commit is answered with the
// same note, which JSON.stringify escaped and Buffer.from encoded again for each (a two-byte
// string: signature lines start with an em dash).
let lastNote = '';
let lastNoteJson = Buffer.from('""');

const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const [QUOTE, COMMA, PAD] = [0x22, 0x2c, 0x3d];

/**
 * addAnswer writes POST add's answer, the UTF-8 of JSON.stringify({ index: String(index),
 * checkpoint: note, hashes: hashes in base64 }), straight into one buffer: the note's JSON once
 * per commit, the hashes' base64 by hand (Node's toString('base64') costs ~0.6 µs a call, one
 * per hash), no string to encode. Under POST add at 512 connections, JSON.stringify, base64 and
 * encoding cost ~20 µs of the main thread per request.
 */
export function addAnswer(
  index: number,
  note: string,
  hashes: readonly Uint8Array[],
): Buffer<ArrayBuffer> {
  if (note !== lastNote) {
    lastNoteJson = Buffer.from(JSON.stringify(note));
    lastNote = note;
  }
  const head = `{"index":"${index}","checkpoint":`;
  let size = head.length + lastNoteJson.length + ',"hashes":[]}'.length;
  for (const h of hashes) size += 4 * Math.ceil(h.length / 3) + 3; // quotes and a comma
  const out = Buffer.allocUnsafe(size - (hashes.length > 0 ? 1 : 0));
  let o = out.write(head, 0, 'latin1');
  o += lastNoteJson.copy(out, o);
  o += out.write(',"hashes":[', o, 'latin1');
  for (let i = 0; i < hashes.length; i++) {
    if (i > 0) out[o++] = COMMA;
    out[o++] = QUOTE;
    o = base64Into(out, o, hashes[i]!);
    out[o++] = QUOTE;
  }
  o += out.write(']}', o, 'latin1');
  assert(o === out.length, 'api: bad math in addAnswer');
  return out;
}

// Standard padded base64 (RFC 4648 §4) of b, written into out at o; returns the end.
function base64Into(out: Uint8Array, o: number, b: Uint8Array): number {
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out[o++] = B64[n >> 18]!;
    out[o++] = B64[(n >> 12) & 63]!;
    out[o++] = B64[(n >> 6) & 63]!;
    out[o++] = B64[n & 63]!;
  }
  const rest = b.length - i;
  if (rest > 0) {
    const n = (b[i]! << 16) | (rest === 2 ? b[i + 1]! << 8 : 0);
    out[o++] = B64[n >> 18]!;
    out[o++] = B64[(n >> 12) & 63]!;
    out[o++] = rest === 2 ? B64[(n >> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return o;
}
