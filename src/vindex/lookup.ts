/**
 * A lookup answer and its verification (pure; runs in browsers). An answer carries a page of the
 * key's list of input-log indices and every proof needed to believe it: the page proof to the
 * list root, the trie proof from the list's leaf (or the proof of the key's absence) to the map
 * root, the revision leaf holding that map root and the input checkpoint it covers, the leaf's
 * inclusion proof in the output log, and the signed output checkpoint. Hashes are base64, keys
 * hex. Any failed check throws LogError 'corrupt': for a client, that is an alarm.
 */
import { equal, fromBase64, fromHex, toBase64, toHex } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { checkConsistency, checkInclusion, type Hash, leafHash } from '../merkle/index.ts';
import { type Checkpoint, type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';
import { verifyPage } from './list.ts';
import { openInput, parseRevision } from './revision.ts';
import { type MapValue, type TrieProof, verifyTrieProof } from './trie.ts';

/** LookupAnswer is the JSON a lookup returns. */
export interface LookupAnswer {
  readonly key: string;
  readonly indices: readonly number[];
  /** start is the position of indices[0] in the key's list. */
  readonly start: number;
  readonly pageProof: readonly string[];
  /** since and consistency: the list's consistency proof from the size the client saw. */
  readonly since?: number;
  readonly consistency?: readonly string[];
  readonly trie: {
    readonly steps: readonly { readonly bit: number; readonly sibling: string }[];
    readonly leaf: {
      readonly key: string;
      readonly size: number;
      readonly listRoot: string;
    } | null;
  };
  readonly revision: {
    readonly index: number;
    readonly leaf: string;
    readonly inclusionProof: readonly string[];
  };
  readonly checkpoint: string;
}

/** formatTrieProof renders a trie proof for an answer. */
export function formatTrieProof(p: TrieProof): LookupAnswer['trie'] {
  return {
    steps: p.steps.map((s) => ({ bit: s.bit, sibling: toBase64(s.sibling) })),
    leaf: p.leaf && {
      key: toHex(p.leaf.key),
      size: p.leaf.value.size,
      listRoot: toBase64(p.leaf.value.listRoot),
    },
  };
}

/** VerifiedLookup is what a verified answer establishes. */
export interface VerifiedLookup {
  readonly indices: readonly number[];
  readonly start: number;
  /** list is the key's list size and root (size 0: the key is in no entry). */
  readonly list: MapValue;
  readonly mapRoot: Hash;
  readonly revisionIndex: number;
  readonly output: { readonly note: string; readonly checkpoint: Checkpoint };
  readonly input: { readonly note: string; readonly checkpoint: Checkpoint };
}

/** VerifyOptions says which key was asked for and whom to trust. */
export interface VerifyOptions {
  readonly key: Hash;
  readonly outputVerifiers: readonly NoteVerifier[];
  readonly inputVerifiers: readonly NoteVerifier[];
  /** since is the list as the client last verified it, to be extended. */
  readonly since?: MapValue;
}

function bad(message: string): LogError {
  return new LogError('corrupt', `lookup: ${message}`);
}

// Strict field readers: the answer is untrusted.
type Obj = Record<string, unknown>;
function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad(`${what} is not an object`);
  return v as Obj;
}
function int(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad(`${what} is not a safe integer`);
  return v as number;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw bad(`${what} is not a string`);
  return v;
}
function hash(v: unknown, what: string): Hash {
  const b = fromBase64(str(v, what));
  if (!b || b.length !== 32) throw bad(`${what} is not a base64 32-byte hash`);
  return b;
}
function hashes(v: unknown, what: string): Hash[] {
  if (!Array.isArray(v)) throw bad(`${what} is not an array`);
  return v.map((h, i) => hash(h, `${what}[${i}]`));
}
function hexKey(v: unknown, what: string): Hash {
  const s = str(v, what);
  const b = /^[0-9a-f]{64}$/.test(s) ? fromHex(s) : null;
  if (!b) throw bad(`${what} is not 64 lowercase hex digits`);
  return b;
}

function parseTrie(v: unknown): TrieProof {
  const t = obj(v, 'trie');
  if (!Array.isArray(t.steps)) throw bad('trie.steps is not an array');
  const steps = t.steps.map((s, i) => {
    const o = obj(s, `trie.steps[${i}]`);
    return { bit: int(o.bit, 'step bit'), sibling: hash(o.sibling, 'step sibling') };
  });
  if (t.leaf === null) return { steps, leaf: null };
  const l = obj(t.leaf, 'trie.leaf');
  return {
    steps,
    leaf: {
      key: hexKey(l.key, 'trie.leaf.key'),
      value: { size: int(l.size, 'trie.leaf.size'), listRoot: hash(l.listRoot, 'listRoot') },
    },
  };
}

function openOutput(note: string, verifiers: readonly NoteVerifier[]): Checkpoint {
  try {
    return parseCheckpoint(openNote(note, verifiers).text);
  } catch (err) {
    throw bad(`the output checkpoint does not verify: ${err instanceof Error ? err.message : err}`);
  }
}

/** verifyLookup checks every proof in an answer for opts.key, or throws 'corrupt'. */
export function verifyLookup(answer: unknown, opts: VerifyOptions): VerifiedLookup {
  const a = obj(answer, 'answer');
  if (!equal(hexKey(a.key, 'key'), opts.key)) throw bad('the answer is for another key');
  // The output log: a signed checkpoint and the revision leaf in it.
  const note = str(a.checkpoint, 'checkpoint');
  const out = openOutput(note, opts.outputVerifiers);
  const rev = obj(a.revision, 'revision');
  const leaf = fromBase64(str(rev.leaf, 'revision.leaf'));
  if (!leaf) throw bad('revision.leaf is not base64');
  const index = int(rev.index, 'revision.index');
  try {
    checkInclusion(index, out.size, leafHash(leaf), hashes(rev.inclusionProof, 'proof'), out.root);
  } catch (err) {
    throw bad(`revision ${index} is not in the output log: ${(err as Error).message}`);
  }
  const r = parseRevision(leaf);
  const input = openInput(r, opts.inputVerifiers);
  // The map: the key's value, or its absence.
  const value = verifyTrieProof(r.mapRoot, opts.key, parseTrie(a.trie));
  const list: MapValue = value ?? { size: 0, listRoot: new Uint8Array(0) };
  if (!Array.isArray(a.indices)) throw bad('indices is not an array');
  const indices = a.indices.map((v, i) => int(v, `indices[${i}]`));
  const start = int(a.start, 'start');
  if (value) verifyPage(value.size, value.listRoot, start, indices, hashes(a.pageProof, 'page'));
  else if (indices.length > 0 || start !== 0) throw bad('an absent key with indices');
  for (let i = 0; i < indices.length; i++) {
    if (indices[i]! >= input.size) throw bad(`index ${indices[i]} is beyond the input checkpoint`);
    if (i > 0 && indices[i]! <= indices[i - 1]!) throw bad('indices are not ascending');
  }
  if (opts.since) checkSince(opts.since, list, a);
  return {
    indices,
    start,
    list,
    mapRoot: r.mapRoot,
    revisionIndex: index,
    output: { note, checkpoint: out },
    input: { note: r.inputNote, checkpoint: input },
  };
}

// checkSince proves that the list the client saw is a prefix of the answer's: a list only grows.
function checkSince(old: MapValue, list: MapValue, a: Obj): void {
  if (old.size === 0) return;
  if (list.size < old.size) throw bad(`the list shrank from ${old.size} to ${list.size}`);
  if (int(a.since, 'since') !== old.size) throw bad('the consistency proof is from another size');
  try {
    checkConsistency(
      old.size,
      list.size,
      old.listRoot,
      list.listRoot,
      hashes(a.consistency, 'consistency'),
    );
  } catch (err) {
    throw bad(`the list is not an extension of the one seen before: ${(err as Error).message}`);
  }
}
