/**
 * Checkpoints (C2SP tlog-checkpoint, HEAD 5ba5ee8): the note text `origin\nsize\nbase64(root)\n`
 * followed by optional non-empty extension lines. Sizes are decimal with no leading zeros.
 */
import { fromBase64, toBase64 } from '../bytes.ts';
import { badRequest } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';

/** Checkpoint is a parsed checkpoint body. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  /** extensions are the lines after the root hash, without their newlines. */
  readonly extensions: readonly string[];
}

/** formatCheckpoint returns the canonical note text of a checkpoint. */
export function formatCheckpoint(c: Checkpoint): string {
  const lines = [c.origin, String(c.size), toBase64(c.root), ...c.extensions];
  return lines.join('\n') + '\n';
}

/** parseDecimalSize parses a decimal tree size with no sign and no leading zeros. */
export function parseDecimalSize(s: string, what = 'size'): number {
  if (!/^(0|[1-9][0-9]*)$/.test(s))
    throw badRequest(`${what} ${JSON.stringify(s.slice(0, 40))} is not a decimal number`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw badRequest(`${what} ${s.slice(0, 40)} is out of range`);
  return n;
}

/**
 * peekCheckpoint returns the first three lines of checkpoint text (or of a signed note) as they
 * are: the origin, the size and the base64 root hash. Nothing is checked: for a note we signed
 * ourselves, or to route a note before parseCheckpoint checks it.
 */
export function peekCheckpoint(text: string): { origin: string; size: string; root: string } {
  const [origin = '', size = '', root = ''] = text.split('\n', 3);
  return { origin, size, root };
}

/**
 * parseCheckpoint parses checkpoint note text strictly: it rejects an empty origin, a size with a
 * sign or leading zeros, a root that is not 32 bytes of canonical base64, and empty extension lines.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw badRequest('checkpoint: text does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw badRequest('checkpoint: fewer than three lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  if (origin.length === 0) throw badRequest('checkpoint: empty origin');
  const size = parseDecimalSize(sizeLine, 'checkpoint: size');
  const root = fromBase64(rootLine);
  if (!root || root.length !== 32)
    throw badRequest('checkpoint: root is not a base64 SHA-256 hash');
  if (extensions.some((e) => e.length === 0)) throw badRequest('checkpoint: empty extension line');
  return { origin, size, root, extensions };
}
