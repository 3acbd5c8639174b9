/**
 * The request bodies of tlog-witness (HEAD 5ba5ee8): `add-checkpoint` (an old size line) and
 * `sign-subtree` (a subtree range line and a subtree hash line), each followed by at most 63
 * consistency proof lines, an empty line and a checkpoint note. Every line ends in a newline and
 * numbers are decimal without leading zeros, so a body parses only if it formats back unchanged.
 */
import { fromBase64, toBase64 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import { parseDecimalSize } from '../note/index.ts';

/** MAX_PROOF_LINES is the most consistency proof lines a client may send (tlog-witness). */
export const MAX_PROOF_LINES = 63;

/** AddCheckpointRequest is a parsed add-checkpoint body. */
export interface AddCheckpointRequest {
  readonly old: number;
  readonly proof: Hash[];
  readonly note: string;
}

/** SubtreeRequest is a parsed sign-subtree body: the subtree [start, end), its hash and proof. */
export interface SubtreeRequest {
  readonly start: number;
  readonly end: number;
  readonly hash: Hash;
  readonly proof: Hash[];
  readonly note: string;
}

// decimal parses a decimal size, or returns the reason it is not one.
function decimal(s: string, what: string): number | string {
  try {
    return parseDecimalSize(s, what);
  } catch (err) {
    if (!(err instanceof LogError)) throw err;
    return err.message;
  }
}

// proofAndNote parses the proof lines from lines[from], the empty line and the note after it.
function proofAndNote(lines: string[], from: number): { proof: Hash[]; note: string } | string {
  const proof: Hash[] = [];
  let i = from;
  for (; i < lines.length && lines[i] !== ''; i++) {
    if (proof.length === MAX_PROOF_LINES) return `more than ${MAX_PROOF_LINES} proof lines`;
    const h = fromBase64(lines[i]!);
    if (!h || h.length !== 32) return `proof line ${i - from + 1} is not a base64 SHA-256 hash`;
    proof.push(h);
  }
  if (i >= lines.length) return 'missing the empty line before the checkpoint';
  const note = lines.slice(i + 1).join('\n');
  if (note === '') return 'missing checkpoint';
  return { proof, note };
}

/** parseRequest parses an add-checkpoint body strictly, or returns the reason it is malformed. */
export function parseRequest(body: string): AddCheckpointRequest | string {
  const lines = body.split('\n');
  const m = /^old ([0-9]+)$/.exec(lines[0] ?? '');
  if (!m) return 'first line must be "old <size>"';
  const old = decimal(m[1]!, 'old size');
  if (typeof old === 'string') return old;
  const rest = proofAndNote(lines, 1);
  return typeof rest === 'string' ? rest : { old, ...rest };
}

/** parseSubtreeRequest parses a sign-subtree body strictly, or returns why it is malformed. */
export function parseSubtreeRequest(body: string): SubtreeRequest | string {
  const lines = body.split('\n');
  const m = /^subtree ([0-9]+) ([0-9]+)$/.exec(lines[0] ?? '');
  if (!m) return 'first line must be "subtree <start> <end>"';
  const start = decimal(m[1]!, 'subtree start');
  if (typeof start === 'string') return start;
  const end = decimal(m[2]!, 'subtree end');
  if (typeof end === 'string') return end;
  const hash = lines.length > 2 ? fromBase64(lines[1]!) : null;
  if (!hash || hash.length !== 32) return 'second line must be the base64 subtree hash';
  const rest = proofAndNote(lines, 2);
  return typeof rest === 'string' ? rest : { start, end, hash, ...rest };
}

/** formatSubtreeRequest returns the sign-subtree body of req. */
export function formatSubtreeRequest(req: SubtreeRequest): string {
  const proof = req.proof.map((h) => toBase64(h) + '\n').join('');
  return `subtree ${req.start} ${req.end}\n${toBase64(req.hash)}\n${proof}\n${req.note}`;
}
