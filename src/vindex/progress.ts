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

/** EdgeJson is an edge as the map's records hold it: its size and hashes in base64. */
export interface EdgeJson {
  size: number;
  levels: string[][];
}

/** edgeToJson and edgeFromJson convert an edge's size and hashes for the state and progress. */
export const edgeToJson = (e: Progress['edge']): EdgeJson => ({
  size: e.size,
  levels: e.levels.map((l) => l.map(toBase64)),
});
export const edgeFromJson = (j: EdgeJson): Progress['edge'] => ({
  size: j.size,
  levels: j.levels.map((l) => l.map((h) => fromBase64(h)!)),
});

/** rootToJson and rootFromJson convert a trie root (null: the empty trie) likewise. */
export const rootToJson = (r: Child | null): string | null => r && toBase64(encodeChild(r));
export const rootFromJson = (j: string | null): Child | null =>
  j === null ? null : decodeChild(fromBase64(j)!);

/** encodeProgress is the progress record's bytes (JSON). */
export function encodeProgress(p: Progress): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      from: p.from,
      edge: edgeToJson(p.edge),
      after: p.after,
      root: rootToJson(p.root),
      keys: p.keys,
    }),
  );
}

/** decodeProgress reads encodeProgress's bytes. */
export function decodeProgress(b: Uint8Array): Progress {
  const j = JSON.parse(new TextDecoder().decode(b)) as {
    from: number;
    edge: EdgeJson;
    after: string;
    root: string | null;
    keys: number;
  };
  return {
    from: j.from,
    edge: edgeFromJson(j.edge),
    after: j.after,
    root: rootFromJson(j.root),
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
