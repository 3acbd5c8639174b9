/**
 * RFC 6962 hashing (RFC 9162 §2.1.1): leaf hashes are SHA-256(0x00 ‖ d) and interior node hashes
 * SHA-256(0x01 ‖ left ‖ right), which keeps leaves and nodes in separate domains.
 */
import { sha256, sha256Into } from '../crypto.ts';
import { assert } from '../errors.ts';

/** Hash is a 32-byte SHA-256 value. */
export type Hash = Uint8Array;

/** HASH_SIZE is the size of a Hash in bytes. */
export const HASH_SIZE = 32;

/** EMPTY_ROOT is the root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0));

// Scratch space for 0x00 ‖ entry, reused: allocating (and zero-filling) a fresh buffer for every
// leaf cost as much as hashing a 1 KiB entry (measured, bench/crypto.bench.ts tree hashing).
const LEAF_SCRATCH = 1 + 4096;
let leafBuf = new Uint8Array(LEAF_SCRATCH);
// leafViews[n] is leafBuf's first n bytes, made once per length (up to LEAF_SCRATCH): a fresh
// subarray per leaf was an object to make and collect for every entry.
const leafViews: (Uint8Array | undefined)[] = new Array<undefined>(LEAF_SCRATCH + 1);

// leafInput copies 0x00 ‖ entry into leafBuf and returns the view of those bytes.
function leafInput(entry: Uint8Array): Uint8Array {
  const n = entry.length + 1;
  if (n > leafBuf.length) {
    leafBuf = new Uint8Array(2 * n);
    leafViews.fill(undefined);
  }
  leafBuf.set(entry, 1);
  if (n > LEAF_SCRATCH) return leafBuf.subarray(0, n);
  return (leafViews[n] ??= leafBuf.subarray(0, n));
}

/** leafHash returns SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Hash {
  return sha256(leafInput(entry));
}

/**
 * leafHashInto writes SHA-256(0x00 ‖ entry) to out at offset (32 bytes), allocating nothing: a
 * tile's leaf hashes are written straight into it. A copy of the entry into scratch space costs
 * less than a view of it where it lies in its bundle (old/new alternating in one process, eight
 * pairs at load 9: 3.7% less CPU for bench/crypto.bench.ts's tree hashing).
 */
export function leafHashInto(entry: Uint8Array, out: Uint8Array, offset: number): void {
  sha256Into(leafInput(entry), out, offset);
}

const nodeBuf = new Uint8Array(1 + 2 * HASH_SIZE);
nodeBuf[0] = 1;

/** nodeHash returns SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    const buf = new Uint8Array(1 + left.length + right.length);
    buf[0] = 1;
    buf.set(left, 1);
    buf.set(right, 1 + left.length);
    return sha256(buf);
  }
  nodeBuf.set(left, 1);
  nodeBuf.set(right, 1 + HASH_SIZE);
  return sha256(nodeBuf);
}

/**
 * balancedRoot returns the root of a perfect subtree whose 2^k bottom nodes are given in order
 * (the bottom nodes are already hashes: they are not hashed again as leaves).
 */
export function balancedRoot(nodes: readonly Hash[]): Hash {
  const n = nodes.length;
  assert(n > 0 && (n & (n - 1)) === 0, 'merkle: balancedRoot needs 2^k nodes');
  // Pairs are hashed in place, level by level, with no array per level: this runs for every
  // full tile (255 node hashes per 256 entries), on the sequencer's commit path.
  const level = nodes.slice();
  for (let width = n; width > 1; width >>= 1)
    for (let i = 0; i < width; i += 2) level[i >> 1] = nodeHash(level[i]!, level[i + 1]!);
  return level[0]!;
}

// balancedRootInto's scratch: `slots` node inputs 0x01 ‖ left ‖ right, each with a view made once
// (a fresh subarray for each node hash, and a copy of its two children, were a fifth of our side
// of bench/crypto.bench.ts's tree hashing), then a staging area for the bottom nodes. A slot is
// STRIDE bytes with its input at offset 3, so that left and right start 4-byte aligned.
const STRIDE = 4 + 2 * HASH_SIZE;
let slots = 0;
let scratch = new Uint8Array(0);
let inputs: Uint8Array[] = [];

function ensureSlots(k: number): void {
  if (k <= slots) return;
  scratch = new Uint8Array(k * STRIDE + k * 2 * HASH_SIZE);
  inputs = [];
  for (let i = 0; i < k; i++) {
    scratch[i * STRIDE + 3] = 1;
    inputs.push(scratch.subarray(i * STRIDE + 3, (i + 1) * STRIDE));
  }
  slots = k;
}

/**
 * balancedRootInto writes to out at offset the root of a perfect subtree whose 2^k bottom nodes
 * are given back to back in bottom (a full hash tile): no array or object per node hash.
 */
export function balancedRootInto(bottom: Uint8Array, out: Uint8Array, offset: number): void {
  const n = bottom.length / HASH_SIZE;
  assert(n >= 1 && (n & (n - 1)) === 0, 'merkle: balancedRootInto needs 2^k nodes');
  if (n === 1) {
    out.set(bottom, offset);
    return;
  }
  let width = n >> 1;
  ensureSlots(width);
  // The bottom pairs go into the slots with copyWithin from one staged copy: no view per pair.
  const stage = slots * STRIDE;
  scratch.set(bottom, stage);
  for (let i = 0; i < width; i++)
    scratch.copyWithin(i * STRIDE + 4, stage + i * 2 * HASH_SIZE, stage + (i + 1) * 2 * HASH_SIZE);
  // Slot i's hash is the left (i even) or right child of slot i >> 1 one level up: it is written
  // there after slot i was hashed, and every slot below i was hashed before it, so each level
  // is halved in place.
  for (; width > 1; width >>= 1)
    for (let i = 0; i < width; i++)
      sha256Into(inputs[i]!, scratch, (i >> 1) * STRIDE + 4 + (i & 1) * HASH_SIZE);
  sha256Into(inputs[0]!, out, offset);
}

/**
 * foldRight combines the hashes of the perfect subtrees that make up a range, left to right and
 * largest first, into the RFC 6962 tree hash of that range: h0 ‖ (h1 ‖ (h2 ‖ …)).
 */
export function foldRight(subtrees: readonly Hash[]): Hash {
  let i = subtrees.length - 1;
  let acc = subtrees[i];
  if (!acc) return EMPTY_ROOT;
  while (--i >= 0) acc = nodeHash(subtrees[i]!, acc);
  return acc;
}
