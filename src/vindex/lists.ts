/**
 * A key's list as stored, and its proofs read in O(log n): the indices in chunks of 256, and the
 * hash of every full chunk and of every perfect subtree of chunks above it (the list tree's
 * levels 8 and up, as tlog-tiles keeps a tree's upper levels). A page or consistency proof is
 * planned as ranges, each range split into perfect subtrees; a subtree of 256 leaves or more is
 * one stored hash, a smaller one lies in one chunk and is hashed from it. So a lookup reads the
 * page's chunks, at most two more and O(log n) hashes, never the whole list (plan, read once,
 * compute).
 *
 *     l/<key hex>/<chunk hex8>              up to 256 u64be indices: positions chunk·256 onwards
 *     h/<key hex>/<level hex2>/<index hex>  the hash of list positions [index·2^level, +2^level)
 */
import { concat, putU64be, readU64be, u64be } from '../bytes.ts';
import { LogError } from '../errors.ts';
import {
  consistencyRanges,
  foldRight,
  type Hash,
  HASH_SIZE,
  type Range,
  rangeSubtrees,
  type Subtree,
} from '../merkle/index.ts';
import type { LocalMap } from '../storage/index.ts';
import {
  appendInPlace,
  EMPTY_LIST,
  type ListEdge,
  listLeafHash,
  listRoot,
  pageProofRanges,
  rangeHash,
} from './list.ts';
import { mapLeafHash } from './trie.ts';

/** CHUNK is how many indices one stored chunk holds: 2^CHUNK_LEVEL. */
export const CHUNK = 256;
/** CHUNK_LEVEL is the level of a chunk in its list's tree: CHUNK = 2^CHUNK_LEVEL. */
export const CHUNK_LEVEL = 8;

/** chunkKey is the storage key of chunk n of the list of the key with hex hash. */
export const chunkKey = (hex: string, n: number) => `l/${hex}/${n.toString(16).padStart(8, '0')}`;

/** subtreeKey is the storage key of a stored perfect subtree (level ≥ 8) of a list. */
export const subtreeKey = (hex: string, s: Subtree) =>
  `h/${hex}/${s.level.toString(16).padStart(2, '0')}/${s.index.toString(16)}`;

/** encodeChunk and decodeChunk: u64be indices, concatenated. */
export function encodeChunk(indices: readonly number[]): Uint8Array {
  const b = new Uint8Array(8 * indices.length);
  indices.forEach((x, i) => putU64be(b, 8 * i, x));
  return b;
}

export function decodeChunk(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let off = 0; off + 8 <= b.length; off += 8) {
    const index = readU64be(b, off);
    // Indices are safe integers (< 2^53), as putU64be wrote them; anything else is not ours.
    if (index === null) throw new LogError('corrupt', 'map: a stored list index is too large');
    out.push(index);
  }
  return out;
}

/** ListProof is a page of a list with its page proof, and a consistency proof if asked for. */
export interface ListProof {
  readonly indices: number[];
  readonly pageProof: Hash[];
  readonly consistency: Hash[];
}

const corrupt = (hex: string, what: string) =>
  new LogError('corrupt', `map: the list of ${hex} lacks ${what}`);

/**
 * readListProof reads the page [start, end) of the list of size (end > start, or all zero for an
 * empty page) with its proof, and the consistency proof from since when 0 < since < size.
 */
export async function readListProof(
  kv: LocalMap,
  hex: string,
  size: number,
  start: number,
  end: number,
  since?: number,
): Promise<ListProof> {
  // Plan: the ranges, their perfect subtrees, and which chunks and stored hashes they need.
  const pageRanges = end > start ? pageProofRanges(size, start, end) : [];
  const consRanges = since && since < size ? consistencyRanges(since, size) : [];
  const subtrees = (r: Range) => rangeSubtrees(r);
  const plans = [...pageRanges, ...consRanges].map(subtrees);
  const chunks = new Set<number>();
  for (let c = Math.floor(start / CHUNK); c * CHUNK < end; c++) chunks.add(c);
  const stored = new Map<string, null | Hash>();
  for (const s of plans.flat()) {
    if (s.level >= CHUNK_LEVEL) stored.set(subtreeKey(hex, s), null);
    else chunks.add(Math.floor((s.index * 2 ** s.level) / CHUNK));
  }
  // Read once.
  const chunkList = [...chunks];
  const [cs, hs] = await Promise.all([
    kv.getMany(chunkList.map((c) => chunkKey(hex, c))),
    kv.getMany([...stored.keys()]),
  ]);
  const loaded = new Map<number, number[]>();
  chunkList.forEach((c, i) => {
    if (!cs[i]) throw corrupt(hex, `chunk ${c}`);
    loaded.set(c, decodeChunk(cs[i]!));
  });
  [...stored.keys()].forEach((k, i) => {
    if (!hs[i] || hs[i]!.length !== 32) throw corrupt(hex, `the subtree hash ${k}`);
    stored.set(k, hs[i]!);
  });
  // Compute.
  const leaves = (begin: number, n: number): number[] => {
    const c = Math.floor(begin / CHUNK);
    const got = loaded.get(c)!.slice(begin - c * CHUNK, begin - c * CHUNK + n);
    if (got.length !== n) throw corrupt(hex, `positions ${begin} to ${begin + n - 1}`);
    return got;
  };
  const hashOf = (s: Subtree): Hash => {
    if (s.level >= CHUNK_LEVEL) return stored.get(subtreeKey(hex, s))!;
    const n = 2 ** s.level;
    return rangeHash(leaves(s.index * n, n), 0, n);
  };
  const fold = (p: Subtree[]) => foldRight(p.map(hashOf));
  const indices: number[] = [];
  for (let i = start; i < end; i += CHUNK - (i % CHUNK))
    indices.push(...leaves(i, Math.min(end, (Math.floor(i / CHUNK) + 1) * CHUNK) - i));
  return {
    indices,
    pageProof: plans.slice(0, pageRanges.length).map(fold),
    consistency: plans.slice(pageRanges.length).map(fold),
  };
}

/** encodeKeyRecord is a key's record (k/<key hex>): u64be(list size) ‖ the list's edge hashes. */
export function encodeKeyRecord(e: ListEdge): Uint8Array {
  return concat(u64be(e.size), ...e.hashes);
}

/** decodeKeyRecord reads encodeKeyRecord's bytes, or throws 'corrupt'. */
export function decodeKeyRecord(b: Uint8Array): ListEdge {
  const size = readU64be(b, 0);
  if (size === null || (b.length - 8) % HASH_SIZE !== 0)
    throw new LogError('corrupt', 'map: a stored key record is malformed');
  const hashes: Hash[] = [];
  for (let off = 8; off < b.length; off += HASH_SIZE) hashes.push(b.slice(off, off + HASH_SIZE));
  return { size, hashes };
}

/** ListKey is a key whose list gains indices (ascending, after those it holds). */
export interface ListKey {
  readonly key: Hash;
  readonly hex: string;
  readonly indices: readonly number[];
}

/**
 * appendLists appends each key's new indices to its stored list, passing every record it
 * changes to put, and returns each key's new map leaf hash and how many keys are new. Only the
 * keys the map holds (present[i], from the trie) have a list to read.
 */
export async function appendLists(
  read: (ids: string[]) => Promise<(Uint8Array | null)[]>,
  keys: readonly ListKey[],
  present: Uint8Array,
  put: (key: string, value: Uint8Array) => void,
): Promise<{ leaves: Hash[]; added: number }> {
  const held: number[] = [];
  for (let i = 0; i < keys.length; i++) if (present[i]) held.push(i);
  const recs = await read(held.map((i) => `k/${keys[i]!.hex}`));
  const edges: ListEdge[] = keys.map(() => EMPTY_LIST);
  held.forEach((i, j) => {
    // The trie holds a leaf for every key with a list, and only for those.
    if (!recs[j]) throw new LogError('corrupt', `map: key ${keys[i]!.hex} has a leaf, no list`);
    edges[i] = decodeKeyRecord(recs[j]!);
  });
  // Only a list whose last chunk is partial has a tail to read (a new key has none).
  const partial = held.filter((i) => edges[i]!.size % CHUNK !== 0);
  const got = await read(
    partial.map((i) => chunkKey(keys[i]!.hex, Math.floor(edges[i]!.size / CHUNK))),
  );
  const tails = new Map(partial.map((i, j) => [i, got[j]]));
  const leaves = keys.map(({ key, hex, indices }, i) => {
    const e = edges[i]!;
    // Most keys of a chunk are new with one index (an artifact's digest): their records are
    // written without the general path's edge copy, appends and closure.
    if (e.size === 0 && indices.length === 1) return appendFirst(key, hex, indices[0]!, put);
    const hashes = e.hashes.slice();
    let size = e.size;
    let c = Math.floor(size / CHUNK);
    let chunk = size % CHUNK === 0 ? [] : decodeChunk(tails.get(i)!);
    // A full chunk and each perfect subtree above it are stored as the append completes them.
    const done = (level: number, hash: Hash) => {
      if (level >= CHUNK_LEVEL) put(subtreeKey(hex, { level, index: size / 2 ** level - 1 }), hash);
    };
    for (const index of indices) {
      appendInPlace(hashes, size++, index, done);
      chunk.push(index);
      if (chunk.length === CHUNK) {
        put(chunkKey(hex, c++), encodeChunk(chunk));
        chunk = [];
      }
    }
    if (chunk.length > 0) put(chunkKey(hex, c), encodeChunk(chunk));
    const edge = { size, hashes };
    put(`k/${hex}`, encodeKeyRecord(edge));
    return mapLeafHash(key, { size, listRoot: listRoot(edge) });
  });
  return { leaves, added: keys.length - held.length };
}

// appendFirst writes the list of a new key holding index alone: its one chunk and its record
// (size 1, edge [leaf]), and returns its map leaf hash (the list's root is the leaf's hash).
function appendFirst(
  key: Hash,
  hex: string,
  index: number,
  put: (key: string, value: Uint8Array) => void,
): Hash {
  const leaf = listLeafHash(index);
  put(chunkKey(hex, 0), encodeChunk([index]));
  put(`k/${hex}`, encodeKeyRecord({ size: 1, hashes: [leaf] }));
  return mapLeafHash(key, { size: 1, listRoot: leaf });
}
