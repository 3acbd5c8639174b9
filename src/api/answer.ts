/**
 * Pieces of the write answers (POST add's and the Rekor write's), written as bytes rather than
 * through JSON.stringify and per-value encoding: they are on the main thread of every write.
 */
import { toBase64 } from '../bytes.ts';

// The last note asked for and its JSON text in UTF-8 (noteJson).
let lastNote = '';
let lastNoteJson = Buffer.from('""');

/**
 * noteJson returns the UTF-8 of JSON.stringify(note), kept for the last note: every entry of a
 * commit is answered with the same checkpoint, which JSON.stringify escaped and Buffer.from
 * encoded again for each (a two-byte string: signature lines start with an em dash).
 */
export function noteJson(note: string): Buffer {
  if (note !== lastNote) {
    lastNoteJson = Buffer.from(JSON.stringify(note));
    lastNote = note;
  }
  return lastNoteJson;
}

// Room for the hashes of a proof, each followed by a zero byte (hashesBase64).
let scratch = Buffer.alloc(33 * 64);

/**
 * hashesBase64 returns the standard base64 of each 32-byte hash with one call into Node for all
 * of them, not one each (~0.5 µs a call, a proof has 10 to 20 hashes): see hashesBase64Run.
 */
export function hashesBase64(hashes: readonly Uint8Array[]): string[] {
  const all = hashesBase64Run(hashes);
  // Any other length (not a SHA-256 hash) gets a call of its own.
  if (all === null) return hashes.map(toBase64);
  const out: string[] = new Array(hashes.length);
  for (let i = 0; i < hashes.length; i++) out[i] = all.slice(44 * i, 44 * i + 43) + '=';
  return out;
}

/**
 * hashesBase64Run returns the base64 of the hashes, each followed by a zero byte, in one call
 * into Node, or null if one is not 32 bytes long. A hash and a zero byte are 33 bytes, eleven
 * whole groups, so hash i is characters [44i, 44i + 44) of the run: its own base64 but for an
 * 'A' where its '=' goes (the zero byte's six bits).
 */
export function hashesBase64Run(hashes: readonly Uint8Array[]): string | null {
  if (!hashes.every((h) => h.length === 32)) return null;
  if (scratch.length < 33 * hashes.length) scratch = Buffer.alloc(33 * hashes.length);
  for (let i = 0; i < hashes.length; i++) {
    scratch.set(hashes[i]!, 33 * i);
    scratch[33 * i + 32] = 0;
  }
  return scratch.toString('base64', 0, 33 * hashes.length);
}
