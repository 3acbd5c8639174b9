/**
 * Perfect subtrees and ranges. Every hash that RFC 6962 puts in a tree hash, an inclusion proof or
 * a consistency proof is the hash of a range of leaves [begin, end) whose begin is aligned to the
 * power of two at or above its length; such a range is a run of perfect subtrees, largest first,
 * and its hash is their right fold (RFC 9162 §2.1.1: MTH splits at the largest power of two).
 *
 * Sizes and indexes are numbers (safe integers, < 2^53); arithmetic avoids 32-bit bit operators.
 */

/** Subtree is the perfect subtree of 2^level leaves starting at leaf index × 2^level. */
export interface Subtree {
  readonly level: number;
  readonly index: number;
}

/** Range is the leaves [begin, end) whose RFC 6962 hash a proof or tree hash needs. */
export interface Range {
  readonly begin: number;
  readonly end: number;
}

/**
 * rangeSubtrees splits an aligned range into its perfect subtrees, left to right, appended to out
 * (a new list by default).
 */
export function rangeSubtrees(r: Range, out: Subtree[] = []): Subtree[] {
  splitRange(r, (level, index) => out.push({ level, index }));
  return out;
}

/** subtreeCount is rangeSubtrees(r).length, without making the list. */
export function subtreeCount(r: Range): number {
  let n = 0;
  splitRange(r, () => n++);
  return n;
}

function splitRange(r: Range, each: (level: number, index: number) => void): void {
  let begin = r.begin;
  while (begin < r.end) {
    let level = 0;
    let width = 1;
    // Grow while begin stays aligned and the subtree fits.
    while (begin % (width * 2) === 0 && begin + width * 2 <= r.end) {
      width *= 2;
      level++;
    }
    each(level, begin / width);
    begin += width;
  }
}

/** differingBits returns the bit length of a XOR b, for safe non-negative integers. */
function differingBits(a: number, b: number): number {
  let n = 0;
  while (a !== b) {
    a = Math.floor(a / 2);
    b = Math.floor(b / 2);
    n++;
  }
  return n;
}

/**
 * pathRanges lists the ranges whose hashes form the audit path of the node (level, index) in a
 * tree of `size` leaves, bottom-up: the inclusion proof of RFC 9162 §2.1.3.1 for level 0.
 * The one sibling on the right border may be a partial range ending at size.
 */
export function pathRanges(level: number, index: number, size: number): Range[] {
  const scale = 2 ** level;
  const last = Math.floor((size - 1) / scale);
  const inner = differingBits(index, last);
  const out: Range[] = [];
  let j = index;
  let width = scale;
  for (let l = 0; j > 0 || l < inner; l++) {
    const sibling = j % 2 === 0 ? j + 1 : j - 1;
    const begin = sibling * width;
    if (l < inner) out.push({ begin, end: Math.min(begin + width, size) });
    else if (j % 2 === 1) out.push({ begin, end: begin + width });
    j = Math.floor(j / 2);
    width *= 2;
  }
  return out;
}

/** inclusionRanges lists the ranges of the inclusion proof of leaf index in a tree of size leaves. */
export function inclusionRanges(index: number, size: number): Range[] {
  return pathRanges(0, index, size);
}

/**
 * consistencyRanges lists the ranges of the consistency proof from size1 to size2 (RFC 9162
 * §2.1.4.1), for 0 < size1 < size2. The last perfect subtree ending at size1 starts the proof,
 * except when size1 is a power of two: then it is the old root, which the verifier already has.
 */
export function consistencyRanges(size1: number, size2: number): Range[] {
  let level = 0;
  let scale = 1;
  while ((size1 / scale) % 2 === 0) {
    level++;
    scale *= 2;
  }
  const index = (size1 - scale) / scale;
  const path = pathRanges(level, index, size2);
  if (index === 0) return path;
  return [{ begin: index * scale, end: index * scale + scale }, ...path];
}
