/**
 * A map revision: the output log's leaf. It names the map function, commits to the map root and
 * carries the input checkpoint it covers, signed note and all, so that a verifier needs nothing
 * but the two logs' keys:
 *
 *     vindex/v1 tilelog-rekor-map/v1\n
 *     <map root, standard base64>\n
 *     \n
 *     <the input checkpoint's signed note, verbatim>
 *
 * Parsing is strict: a leaf is accepted only if formatting what was parsed gives it back.
 */
import { decodeUtf8, fromBase64, toBase64, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { type Hash, HASH_SIZE } from '../merkle/index.ts';
import { type Checkpoint, type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';

/** REVISION_HEADER is the first line of every revision: format and map function versions. */
export const REVISION_HEADER = 'vindex/v1 tilelog-rekor-map/v1';

/** Revision is a parsed output-log leaf. */
export interface Revision {
  readonly mapRoot: Hash;
  /** inputNote is the signed note of the input checkpoint the map covers. */
  readonly inputNote: string;
}

/** formatRevision encodes a revision as the output log's leaf. */
export function formatRevision(r: Revision): Uint8Array {
  return utf8(`${REVISION_HEADER}\n${toBase64(r.mapRoot)}\n\n${r.inputNote}`);
}

/** parseRevision decodes a leaf strictly, or throws 'corrupt'. */
export function parseRevision(leaf: Uint8Array): Revision {
  const bad = (why: string) => new LogError('corrupt', `vindex: revision leaf ${why}`);
  const text = decodeUtf8(leaf);
  if (text === null) throw bad('is not UTF-8');
  const head = `${REVISION_HEADER}\n`;
  if (!text.startsWith(head)) throw bad(`does not start with "${REVISION_HEADER}"`);
  const nl = text.indexOf('\n', head.length);
  const root = nl < 0 ? null : fromBase64(text.slice(head.length, nl));
  if (!root || root.length !== HASH_SIZE) throw bad('has no 32-byte base64 map root');
  if (text[nl + 1] !== '\n') throw bad('lacks the blank line before the input checkpoint');
  const r = { mapRoot: root, inputNote: text.slice(nl + 2) };
  if (decodeUtf8(formatRevision(r)) !== text) throw bad('is not canonical');
  return r;
}

/** openInput verifies a revision's input note with the input log's keys and parses it. */
export function openInput(r: Revision, verifiers: readonly NoteVerifier[]): Checkpoint {
  try {
    return parseCheckpoint(openNote(r.inputNote, verifiers).text);
  } catch (err) {
    throw new LogError(
      'corrupt',
      `vindex: the revision's input checkpoint does not verify: ${err instanceof Error ? err.message : err}`,
    );
  }
}
