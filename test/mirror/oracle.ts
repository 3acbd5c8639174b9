// A log held in memory as a test oracle for the mirror: its entries, its tree hashes by the RFC
// 6962 definition (memoized), consistency proofs by RFC 9162's SUBPROOF and subtree consistency
// proofs by draft-ietf-plants-merkle-tree-certs §4.4, written here from those texts; and the
// add-checkpoint and add-entries bodies a log would send (built with src/mirror's formatters,
// which test/mirror/body.test.ts checks on their own).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { concat, toBase64, utf8 } from '../../src/bytes.ts';
import { formatHeader, formatPackage, packageRanges } from '../../src/mirror/body.ts';
import { formatCheckpoint, type NoteSigner } from '../../src/note/index.ts';
import { signNote } from '../../src/note/note.ts';
import { refLeaf } from '../reference/rfc6962.ts';

const node = (l: Uint8Array, r: Uint8Array) =>
  new Uint8Array(createHash('sha256').update(Uint8Array.of(1)).update(l).update(r).digest());
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

export class Oracle {
  readonly origin: string;
  readonly key: NoteSigner;
  readonly entries: Uint8Array[];
  private readonly leaves: Uint8Array[];
  private readonly memo = new Map<string, Uint8Array>();

  constructor(
    origin: string,
    key: NoteSigner,
    n: number,
    entry = (i: number) => utf8(`${origin} entry ${i} `.repeat(1 + (i % 5))),
  ) {
    this.origin = origin;
    this.key = key;
    this.entries = Array.from({ length: n }, (_, i) => entry(i));
    this.leaves = this.entries.map(refLeaf);
  }

  mth(lo: number, hi: number): Uint8Array {
    if (hi - lo === 1) return this.leaves[lo]!;
    if (hi === lo) return new Uint8Array(createHash('sha256').digest());
    const k = `${lo}-${hi}`;
    let h = this.memo.get(k);
    if (!h) {
      const mid = lo + split(hi - lo);
      h = node(this.mth(lo, mid), this.mth(mid, hi));
      this.memo.set(k, h);
    }
    return h;
  }

  checkpoint(size: number, extensions: string[] = []): string {
    const body = formatCheckpoint({
      origin: this.origin,
      size,
      root: this.mth(0, size),
      extensions,
    });
    return signNote(body, [this.key]);
  }

  // RFC 9162 §2.1.4.1 SUBPROOF over the range [lo, hi).
  consistency(m: number, n: number): Uint8Array[] {
    const sub = (m: number, lo: number, hi: number, b: boolean): Uint8Array[] => {
      if (m === hi) return b ? [] : [this.mth(lo, hi)];
      const k = lo + split(hi - lo);
      if (m <= k) return [...sub(m, lo, k, b), this.mth(k, hi)];
      return [...sub(m, k, hi, false), this.mth(lo, k)];
    };
    return m === 0 || m === n ? [] : sub(m, 0, n, true);
  }

  // merkle-tree-certs §4.4: the subtree [start, end) in the tree of size n.
  subtreeProof(start: number, end: number, n: number): Uint8Array[] {
    const sub = (s: number, lo: number, hi: number, known: boolean): Uint8Array[] => {
      if (s === lo && end === hi) return known ? [] : [this.mth(lo, hi)];
      const k = lo + split(hi - lo);
      if (end <= k) return [...sub(s, lo, k, known), this.mth(k, hi)];
      if (s >= k) return [...sub(s, k, hi, known), this.mth(lo, k)];
      return [...sub(k, k, hi, false), this.mth(lo, k)];
    };
    return sub(start, 0, n, true);
  }

  addCheckpoint(old: number, size: number, note = this.checkpoint(size)): string {
    const proof = this.consistency(old, size).map((h) => toBase64(h) + '\n');
    return `old ${old}\n${proof.join('')}\n${note}`;
  }

  /** addEntries is the body for [start, end), its first `packages` packages (all by default). */
  addEntries(
    start: number,
    end: number,
    opts: { packages?: number; origin?: string; gzip?: boolean } = {},
  ): Uint8Array {
    const header = formatHeader({
      origin: opts.origin ?? this.origin,
      start,
      end,
      ticket: new Uint8Array(0),
    });
    const ranges = packageRanges(start, end).slice(0, opts.packages);
    const body = concat(
      header,
      ...ranges.map((r) =>
        formatPackage({
          entries: this.entries.slice(r.start, r.end),
          proof: this.subtreeProof(r.base, r.end, end),
        }),
      ),
    );
    return opts.gzip ? new Uint8Array(gzipSync(body)) : body;
  }

  /** headerLength is the length of the header of an addEntries body (no ticket). */
  get headerLength(): number {
    return 2 + utf8(this.origin).length + 18;
  }
}
