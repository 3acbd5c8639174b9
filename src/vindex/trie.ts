/**
 * The verifiable map: a Merkle prefix trie over 256-bit key hashes (compressed: a node exists
 * only where the keys below it branch). Pure and synchronous: hashing, the proof format and its
 * verification. The hash of a set S of (key, value) leaves is
 *
 * - S empty: EMPTY_MAP_ROOT, SHA-256 of the empty string;
 * - S = {(k, n, r)}: SHA-256(0x00 ‖ k ‖ u64be(n) ‖ r), a leaf, where n and r are the size and
 *   RFC 6962 root of the key's list of input-log indices;
 * - otherwise: SHA-256(0x01 ‖ u8(b) ‖ H(S0) ‖ H(S1)), where b is the length in bits of the
 *   longest prefix all keys of S share and S0, S1 are the keys whose bit b is 0, 1.
 *
 * Bits are numbered from 0, most significant bit of byte 0 first. The 0x00/0x01 prefixes keep
 * leaves and nodes apart, and a node commits to its branching bit, so a root fixes the shape.
 */
import { concat, equal, putU64be, u64be } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { LogError } from '../errors.ts';
import { EMPTY_ROOT, type Hash, HASH_SIZE } from '../merkle/index.ts';

/** EMPTY_MAP_ROOT is the root of the empty map. */
export const EMPTY_MAP_ROOT: Hash = EMPTY_ROOT;

/** LEAF_SPLIT is the split of a leaf in a Child: past the last bit. */
export const LEAF_SPLIT = 256;

/** MapValue is what the map holds for a key: its list's size and RFC 6962 root. */
export interface MapValue {
  readonly size: number;
  readonly listRoot: Hash;
}

/** bitAt returns bit i of a 32-byte key (0 is the most significant bit of byte 0). */
export function bitAt(key: Uint8Array, i: number): 0 | 1 {
  return ((key[i >> 3]! >> (7 - (i & 7))) & 1) as 0 | 1;
}

/** commonPrefix returns how many leading bits two 32-byte keys share (256 when equal). */
export function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < HASH_SIZE; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return LEAF_SPLIT;
}

// Scratch inputs, reused: the map hashes several of them per indexed entry.
const leafBuf = new Uint8Array(1 + HASH_SIZE + 8 + HASH_SIZE);
const nodeBuf = new Uint8Array(2 + 2 * HASH_SIZE);
nodeBuf[0] = 1;

/** mapLeafHash is the hash of the leaf of key with value v. */
export function mapLeafHash(key: Hash, v: MapValue): Hash {
  if (key.length !== HASH_SIZE || v.listRoot.length !== HASH_SIZE)
    return sha256(concat(Uint8Array.of(0), key, u64be(v.size), v.listRoot));
  leafBuf.set(key, 1);
  putU64be(leafBuf, 1 + HASH_SIZE, v.size);
  leafBuf.set(v.listRoot, 1 + HASH_SIZE + 8);
  return sha256(leafBuf);
}

/** mapNodeHash is the hash of a node that branches at bit b. */
export function mapNodeHash(b: number, left: Hash, right: Hash): Hash {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE)
    return sha256(concat(Uint8Array.of(1, b), left, right));
  nodeBuf[1] = b;
  nodeBuf.set(left, 2);
  nodeBuf.set(right, 2 + HASH_SIZE);
  return sha256(nodeBuf);
}

/** ProofStep is one node on the way from the root: its branching bit and the other child's hash. */
export interface ProofStep {
  readonly bit: number;
  readonly sibling: Hash;
}

/**
 * TrieProof is the path from the root to one leaf, root first. For a key in the map the leaf is
 * its own; for a key not in the map it is a leaf whose path the key would have to share, which
 * shows that the key is absent; for the empty map there is no leaf and no step.
 */
export interface TrieProof {
  readonly steps: readonly ProofStep[];
  readonly leaf: { readonly key: Hash; readonly value: MapValue } | null;
}

function fail(message: string): LogError {
  return new LogError('corrupt', `map: ${message}`);
}

/** rootFromTrieProof returns the root a proof leads to, or throws when it is malformed. */
export function rootFromTrieProof(p: TrieProof): Hash {
  if (!p.leaf) {
    if (p.steps.length > 0) throw fail('a proof without a leaf has steps');
    return EMPTY_MAP_ROOT;
  }
  const { key, value } = p.leaf;
  if (key.length !== HASH_SIZE || value.listRoot.length !== HASH_SIZE)
    throw fail('a proof leaf needs 32-byte hashes');
  if (!Number.isSafeInteger(value.size) || value.size < 1)
    throw fail('a leaf list size must be a positive integer');
  let last = -1;
  for (const s of p.steps) {
    if (!Number.isInteger(s.bit) || s.bit <= last || s.bit >= LEAF_SPLIT)
      throw fail('proof bits must increase strictly within 0..255');
    if (s.sibling.length !== HASH_SIZE) throw fail('a proof sibling needs 32 bytes');
    last = s.bit;
  }
  let h = mapLeafHash(key, value);
  for (let i = p.steps.length - 1; i >= 0; i--) {
    const s = p.steps[i]!;
    h = bitAt(key, s.bit) ? mapNodeHash(s.bit, s.sibling, h) : mapNodeHash(s.bit, h, s.sibling);
  }
  return h;
}

/**
 * verifyTrieProof checks a proof for key against root and returns the key's value (inclusion)
 * or null (non-inclusion); it throws 'corrupt' when the proof shows neither.
 */
export function verifyTrieProof(root: Hash, key: Hash, p: TrieProof): MapValue | null {
  if (key.length !== HASH_SIZE) throw fail('a key needs 32 bytes');
  if (!equal(rootFromTrieProof(p), root)) throw fail('the proof does not lead to the map root');
  if (!p.leaf) return null;
  if (equal(p.leaf.key, key)) return p.leaf.value;
  // The key would branch off the leaf's path at bit d. If no node on the path branches at d,
  // the key belongs under a node whose keys all share the leaf's prefix past d: it is absent.
  const d = commonPrefix(key, p.leaf.key);
  if (p.steps.some((s) => s.bit === d))
    throw fail('the proof leaf is a sibling of the key, not proof of its absence');
  return null;
}
