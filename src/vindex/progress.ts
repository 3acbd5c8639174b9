/**
 * The progress record of a chunk's commit under way (store.ts, apply: the crash argument).
 */
import { equal, fromBase64, toBase64 } from '../bytes.ts';
import type { Edge } from '../tiles/index.ts';
import { type Child, decodeChild, encodeChild } from './nodes.ts';

/**
 * Progress is a chunk's commit under way: it starts from the state at size from, moves it to
 * edge, and every key up to after (hex, in key order) is applied, leaving the trie at root and
 * the count of keys at keys.
 */
export interface Progress {
  readonly from: number;
  readonly edge: Pick<Edge, 'size' | 'levels'>;
  readonly after: string;
  readonly root: Child | null;
  readonly keys: number;
}

/** encodeProgress is the progress record's bytes (JSON). */
export function encodeProgress(p: Progress): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      from: p.from,
      edge: { size: p.edge.size, levels: p.edge.levels.map((l) => l.map(toBase64)) },
      after: p.after,
      root: p.root && toBase64(encodeChild(p.root)),
      keys: p.keys,
    }),
  );
}

/** decodeProgress reads encodeProgress's bytes. */
export function decodeProgress(b: Uint8Array): Progress {
  const j = JSON.parse(new TextDecoder().decode(b)) as {
    from: number;
    edge: { size: number; levels: string[][] };
    after: string;
    root: string | null;
    keys: number;
  };
  return {
    from: j.from,
    edge: { size: j.edge.size, levels: j.edge.levels.map((l) => l.map((h) => fromBase64(h)!)) },
    after: j.after,
    root: j.root === null ? null : decodeChild(fromBase64(j.root)!),
    keys: j.keys,
  };
}

/** sameEdge tells whether two edges are of the same tree. */
export const sameEdge = (a: Progress['edge'], b: Progress['edge']) =>
  a.size === b.size &&
  a.levels.length === b.levels.length &&
  a.levels.every(
    (l, i) => l.length === b.levels[i]!.length && l.every((h, j) => equal(h, b.levels[i]![j]!)),
  );
