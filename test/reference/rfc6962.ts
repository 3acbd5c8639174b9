// A naive RFC 6962 reference, written from the text of RFC 9162 §2.1 and nothing else:
// MTH, PATH and PROOF/SUBPROOF by their recursive definitions, over the full list of leaves.
import { createHash } from 'node:crypto';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

export const refLeaf = (d: Uint8Array) => sha(Uint8Array.of(0), d);
const refNode = (l: Uint8Array, r: Uint8Array) => sha(Uint8Array.of(1), l, r);

// k: the largest power of two smaller than n (n > 1).
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

export function mth(d: Uint8Array[]): Uint8Array {
  const n = d.length;
  if (n === 0) return sha();
  if (n === 1) return refLeaf(d[0]!);
  const k = split(n);
  return refNode(mth(d.slice(0, k)), mth(d.slice(k)));
}

export function path(m: number, d: Uint8Array[]): Uint8Array[] {
  const n = d.length;
  if (n === 1) return [];
  const k = split(n);
  if (m < k) return [...path(m, d.slice(0, k)), mth(d.slice(k))];
  return [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  const k = split(n);
  if (m <= k) return [...subproof(m, d.slice(0, k), b), mth(d.slice(k))];
  return [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

export function proof(m: number, d: Uint8Array[]): Uint8Array[] {
  return subproof(m, d, true);
}
