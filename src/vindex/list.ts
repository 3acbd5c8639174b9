/**
 * A key's list of input-log indices is itself a small RFC 6962 tree (as in vindex v1): leaf i is
 * u64be(indices[i]), hashed SHA-256(0x00 ‖ u64be(index)). A client that saw the list at size N
 * checks an update to size M with an RFC 9162 consistency proof and the new indices; a long list
 * is read in pages, each with a range proof. Pure and synchronous.
 */
import { equal, putU64be, u64be } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { LogError } from '../errors.ts';
import {
  consistencyRanges,
  EMPTY_ROOT,
  foldRight,
  type Hash,
  HASH_SIZE,
  leafHash,
  nodeHash,
  type Range,
} from '../merkle/index.ts';

// Scratch input 0x00 ‖ u64be(index), reused: every indexed key hashes one list leaf.
const leafBuf = new Uint8Array(9);

/** listLeafHash is the hash of a list leaf: SHA-256(0x00 ‖ u64be(index)). */
export function listLeafHash(index: number): Hash {
  if (!Number.isSafeInteger(index) || index < 0) return leafHash(u64be(index));
  putU64be(leafBuf, 1, index);
  return sha256(leafBuf);
}

/**
 * ListEdge is the hashes of the perfect subtrees that make up a list of size leaves, largest
 * first (one per set bit of size): all that appending needs.
 */
export interface ListEdge {
  readonly size: number;
  readonly hashes: readonly Hash[];
}

/** EMPTY_LIST is the edge of the empty list. */
export const EMPTY_LIST: ListEdge = { size: 0, hashes: [] };

/** appendList returns the edge after appending index. */
export function appendList(e: ListEdge, index: number): ListEdge {
  const hashes = e.hashes.slice();
  appendInPlace(hashes, e.size, index);
  return { size: e.size + 1, hashes };
}

/**
 * appendInPlace appends index to the edge hashes of a list of size leaves, changing them; each
 * perfect subtree of two leaves or more that the new leaf completes is passed to done, with its
 * level, smallest first.
 */
export function appendInPlace(
  hashes: Hash[],
  size: number,
  index: number,
  done?: (level: number, hash: Hash) => void,
): void {
  let h = listLeafHash(index);
  // Each trailing 1 bit of size is a perfect subtree the new leaf completes.
  for (let n = size, level = 1; n % 2 === 1; n = Math.floor(n / 2), level++) {
    h = nodeHash(hashes.pop()!, h);
    done?.(level, h);
  }
  hashes.push(h);
}

/** listRoot is the RFC 6962 root of the list an edge ends. */
export function listRoot(e: ListEdge): Hash {
  return e.hashes.length === 0 ? EMPTY_ROOT : foldRight(e.hashes);
}

/** rangeHash is the RFC 6962 hash of indices[begin, end) (end > begin), computed from them. */
export function rangeHash(indices: readonly number[], begin: number, end: number): Hash {
  if (end - begin === 1) return listLeafHash(indices[begin]!);
  let k = 1;
  while (k * 2 < end - begin) k *= 2;
  return nodeHash(rangeHash(indices, begin, begin + k), rangeHash(indices, begin + k, end));
}

/**
 * pageProofRanges lists, left to right, the largest subtrees of the RFC 6962 tree of a list of
 * size leaves that hold no leaf of the page [start, end): the ranges whose hashes, with the
 * page's indices, give the root.
 */
export function pageProofRanges(size: number, start: number, end: number): Range[] {
  const out: Range[] = [];
  const walk = (lo: number, hi: number) => {
    if (hi <= start || lo >= end) out.push({ begin: lo, end: hi });
    else if (hi - lo > 1) {
      let k = 1;
      while (k * 2 < hi - lo) k *= 2;
      walk(lo, lo + k);
      walk(lo + k, hi);
    }
  };
  walk(0, size);
  return out;
}

/** pageProof is the page proof of [start, end) computed from the whole list (tests, clients). */
export function pageProof(indices: readonly number[], start: number, end: number): Hash[] {
  return pageProofRanges(indices.length, start, end).map((r) => rangeHash(indices, r.begin, r.end));
}

function fail(message: string): LogError {
  return new LogError('corrupt', `list: ${message}`);
}

/**
 * verifyPage checks that page is indices[start, start + page.length) of the list of size with
 * root, given pageProof's hashes; it throws 'corrupt' otherwise. The page must not be empty
 * unless the list is.
 */
export function verifyPage(
  size: number,
  root: Hash,
  start: number,
  page: readonly number[],
  proof: readonly Hash[],
): void {
  const end = start + page.length;
  if (size === 0) {
    if (page.length > 0 || proof.length > 0 || start !== 0 || !equal(root, EMPTY_ROOT))
      throw fail('an empty list has no page and the empty root');
    return;
  }
  if (!(Number.isSafeInteger(start) && start >= 0 && page.length > 0 && end <= size))
    throw fail(`page [${start}, ${end}) is not a non-empty part of a list of ${size}`);
  let next = 0;
  const walk = (lo: number, hi: number): Hash => {
    if (hi <= start || lo >= end) {
      const h = proof[next++];
      if (!h || h.length !== HASH_SIZE) throw fail('the page proof is too short');
      return h;
    }
    if (hi - lo === 1) return listLeafHash(page[lo - start]!);
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    const l = walk(lo, lo + k);
    return nodeHash(l, walk(lo + k, hi));
  };
  const got = walk(0, size);
  if (next !== proof.length) throw fail('the page proof is too long');
  if (!equal(got, root)) throw fail('the page does not lead to the list root');
}

/** listConsistency is the RFC 9162 consistency proof of the list from size1 to its full size. */
export function listConsistency(indices: readonly number[], size1: number): Hash[] {
  if (size1 === 0 || size1 >= indices.length) return [];
  // An aligned range's RFC 6962 hash is the proof's hash for it (RFC 9162 §2.1.4.1).
  return consistencyRanges(size1, indices.length).map((r) => rangeHash(indices, r.begin, r.end));
}
