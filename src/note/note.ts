/**
 * Signed notes (C2SP signed-note, HEAD 5ba5ee8): UTF-8 text ending in a newline, a blank line,
 * then signature lines `— <name> <base64(key hash ‖ signature)>`. Opening follows
 * golang.org/x/mod/sumdb/note.Open: any malformed line rejects the note, signatures by unknown
 * keys are ignored, and a bad signature by a known key rejects the whole note.
 */
import { concat, decodeUtf8, fromBase64, toBase64, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import {
  isValidKeyName,
  keyHashBytes,
  keyHashHex,
  type NoteSigner,
  type NoteVerifier,
  readKeyHash,
  type Signer,
} from './keys.ts';

/** MAX_SIGNATURES is the most signature lines a note may carry (Go's limit; the spec asks for ≥ 16). */
export const MAX_SIGNATURES = 100;

/** Signature is one signature line of a note. */
export interface Signature {
  readonly name: string;
  readonly keyHash: number;
  /** base64 is the line's base64 field: key hash and signature bytes. */
  readonly base64: string;
}

/** Note is an opened note: its text, the verified signatures, and those by unknown keys. */
export interface Note {
  readonly text: string;
  readonly sigs: readonly Signature[];
  readonly unverifiedSigs: readonly Signature[];
}

const SIG_PREFIX = '\u2014 ';

/**
 * NoteFailure says why a note did not open, as Go's note package tells them apart: malformed
 * (errMalformedNote), no signature by a known key verifies (UnverifiedNoteError), or a known key's
 * signature is invalid (InvalidSignatureError).
 */
export type NoteFailure = 'malformed' | 'unverified' | 'invalid_signature';

/** NoteError is the bad_request LogError of a note that does not open, with its typed reason. */
export class NoteError extends LogError {
  readonly reason: NoteFailure;
  constructor(reason: NoteFailure, message: string) {
    super('bad_request', message);
    this.name = 'NoteError';
    this.reason = reason;
  }
}

function malformed(why: string): NoteError {
  return new NoteError('malformed', `note: malformed note: ${why}`);
}

/** checkText throws unless text is note text: ends in a newline, no control characters but newline. */
function checkText(text: string): void {
  if (!text.endsWith('\n')) throw malformed('text does not end in a newline');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw malformed('control character');
}

function signatureLine(s: Signer, sig: Uint8Array): string {
  return `${SIG_PREFIX}${s.name} ${toBase64(concat(keyHashBytes(s.keyHash), sig))}\n`;
}

/** signNote signs text (which must end in a newline) with each signer, in order. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  const msg = utf8(text);
  return text + '\n' + signers.map((s) => signatureLine(s, s.sign(msg))).join('');
}

/**
 * signNoteWith signs text as signNote does, with signers whose keys may be elsewhere (a token);
 * it rejects as their sign does (Ed25519Key).
 */
export async function signNoteWith(text: string, signers: readonly Signer[]): Promise<string> {
  checkText(text);
  const msg = utf8(text);
  const sigs = await Promise.all(signers.map(async (s) => signatureLine(s, await s.sign(msg))));
  return text + '\n' + sigs.join('');
}

/**
 * openNote parses and verifies a signed note against known verifiers. It throws a NoteError whose
 * reason says which failure it was: a malformed note, no verified signature, or an invalid
 * signature by a known key.
 */
export function openNote(msg: string | Uint8Array, verifiers: readonly NoteVerifier[]): Note {
  const s = typeof msg === 'string' ? msg : decodeUtf8(msg);
  if (s === null || !s.isWellFormed()) throw malformed('invalid UTF-8');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) throw malformed('control character');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no signature block');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw malformed('no final newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed(`over ${MAX_SIGNATURES} signatures`);

  const textBytes = utf8(text);
  const sigs: Signature[] = [];
  const unverifiedSigs: Signature[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const sig = parseSignatureLine(line);
    const id = `${sig.name}+${keyHashHex(sig.keyHash)}`;
    const v = verifiers.find((k) => k.name === sig.name && k.keyHash === sig.keyHash);
    if (!v) {
      if (!unverifiedSigs.some((u) => u.name === sig.name && u.base64 === sig.base64)) {
        unverifiedSigs.push(sig);
      }
      continue;
    }
    if (seen.has(id)) continue; // a repeated signature by one key counts once
    seen.add(id);
    const raw = fromBase64(sig.base64)!.subarray(4);
    if (!v.verify(textBytes, raw)) {
      throw new NoteError('invalid_signature', `note: invalid signature for key ${id}`);
    }
    sigs.push(sig);
  }
  if (sigs.length === 0) {
    throw new NoteError('unverified', 'note: note has no verifiable signatures');
  }
  return { text, sigs, unverifiedSigs };
}

/** parseSignatureLine parses `— name base64` strictly. */
function parseSignatureLine(line: string): Signature {
  if (!line.startsWith(SIG_PREFIX)) throw malformed('line is not a signature');
  const rest = line.slice(SIG_PREFIX.length);
  const sp = rest.indexOf(' ');
  if (sp < 0) throw malformed('signature line has no key name');
  const name = rest.slice(0, sp);
  const b64 = rest.slice(sp + 1);
  const raw = fromBase64(b64);
  if (!isValidKeyName(name) || !raw || raw.length < 5) throw malformed('bad signature line');
  return { name, keyHash: readKeyHash(raw), base64: b64 };
}

/** splitNote splits a signed note into text and signature block without verifying anything. */
export function splitNote(msg: string): { text: string; signatures: string } | null {
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) return null;
  return { text: msg.slice(0, split + 1), signatures: msg.slice(split + 2) };
}
