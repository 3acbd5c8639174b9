/**
 * The stored trie: nodes addressed by where they sit (branching bit and key prefix), so that the
 * trie is never held in memory whole. Keys are only ever added, and adding a key never removes
 * a branch, so a node's address, once used, stays in use and is simply rewritten. Updates are
 * batched: one call folds any number of new or changed leaves into the trie, reading only the
 * nodes on their paths.
 */
import { compare } from '../bytes.ts';
import { assert, LogError } from '../errors.ts';
import { type Hash, HASH_SIZE } from '../merkle/index.ts';
import { bitAt, commonPrefix, LEAF_SPLIT, mapNodeHash, type ProofStep } from './trie.ts';

/**
 * Child is a subtree as its parent records it: where it branches (LEAF_SPLIT for a leaf), one of
 * its keys (for a leaf, the key), and its hash.
 */
export interface Child {
  readonly split: number;
  readonly key: Hash;
  readonly hash: Hash;
}

const CHILD_SIZE = 2 + 2 * HASH_SIZE;

/** encodeChild is u16be(split) ‖ key ‖ hash. */
export function encodeChild(c: Child): Uint8Array {
  const b = new Uint8Array(CHILD_SIZE);
  putChild(b, 0, c);
  return b;
}

function putChild(b: Uint8Array, off: number, c: Child): void {
  b[off] = c.split >> 8;
  b[off + 1] = c.split & 255;
  b.set(c.key, off + 2);
  b.set(c.hash, off + 2 + HASH_SIZE);
}

/** decodeChild reads encodeChild's bytes at off, or throws 'corrupt'. */
export function decodeChild(b: Uint8Array, off = 0): Child {
  if (b.length < off + CHILD_SIZE) throw new LogError('corrupt', 'map: a stored node is short');
  const split = b[off]! * 256 + b[off + 1]!;
  if (split > LEAF_SPLIT) throw new LogError('corrupt', 'map: a stored node has a bad split');
  return {
    split,
    // Views, not copies: a node is read and decoded by the thousand in one batch.
    key: b.subarray(off + 2, off + 2 + HASH_SIZE),
    hash: b.subarray(off + 2 + HASH_SIZE, off + CHILD_SIZE),
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** nodeId is the storage key of the node branching at bit split above key. */
export function nodeId(split: number, key: Hash): string {
  const whole = split >> 3;
  // A prefix is a few bytes (a trie of n keys branches within about log2(n) bits): a loop over
  // a table costs less than a Buffer and its hex formatting, once for every node read or written.
  let id = `t/${HEX[split] ?? split.toString(16)}/`;
  for (let i = 0; i < whole; i++) id += HEX[key[i]!];
  // The last byte of a prefix that ends inside it keeps only the prefix's bits.
  if (split & 7) id += HEX[key[whole]! & (0xff << (8 - (split & 7)))];
  return id;
}

/** NodeSource reads stored nodes (left child ‖ right child); null when there is none. */
export type NodeSource = (id: string) => Promise<Uint8Array | null>;

async function readNode(src: NodeSource, c: Child): Promise<[Child, Child]> {
  const id = nodeId(c.split, c.key);
  return decodeNode(id, await src(id));
}

/** Leaf is a new or changed leaf to fold into the trie. */
export interface Leaf {
  readonly key: Hash;
  readonly hash: Hash;
}

// A new key with the first 32 bits of it, which decide most comparisons, and its position in
// the caller's list of keys (where its leaf hash is).
interface Fresh {
  readonly key: Hash;
  readonly top: number;
  readonly at: number;
}

const top32 = (k: Uint8Array) => ((k[0]! << 24) | (k[1]! << 16) | (k[2]! << 8) | k[3]!) >>> 0;

const byKey = (a: Fresh, b: Fresh) => a.top - b.top || compare(a.key, b.key);

/** NodesSource reads many stored nodes at once, in order; null where there is none. */
export type NodesSource = (ids: string[]) => Promise<(Uint8Array | null)[]>;

/**
 * updateTrie folds leaves (distinct keys) into the trie under root (null: empty) and returns the
 * new root; every node it creates or changes is passed to write. Stored subtrees that no new
 * key falls into are not read. The stored nodes it opens are read first, one batch per trie
 * level (srcMany, default: src for each), then the trie is rebuilt without further reads.
 */
export async function updateTrie(
  src: NodeSource,
  root: Child | null,
  leaves: readonly Leaf[],
  write: (id: string, node: Uint8Array) => void,
  srcMany: NodesSource = (ids) => Promise.all(ids.map(src)),
): Promise<Child | null> {
  const t = await openTrie(
    srcMany,
    root,
    leaves.map((l) => l.key),
  );
  return foldTrie(
    t,
    leaves.map((l) => l.hash),
    write,
  );
}

type Opened = Map<string, readonly [Child, Child]>;

/**
 * OpenTrie is a trie with the stored nodes that new keys fall into read (openTrie), and which of
 * the keys it holds already (present[i] for openTrie's keys[i]).
 */
export interface OpenTrie {
  readonly root: Child | null;
  readonly fresh: readonly Fresh[];
  readonly nodes: Opened;
  readonly present: Uint8Array;
}

/**
 * openTrie reads the stored nodes of the trie under root that the new keys (distinct) fall
 * into, one batch per level: which nodes these are depends on the keys alone, not their leaves.
 * A key the trie holds falls into every node above its leaf, so its leaf is among the children
 * read: that is how present is known without reading anything else.
 */
export async function openTrie(
  srcMany: NodesSource,
  root: Child | null,
  keys: readonly Hash[],
): Promise<OpenTrie> {
  // The new keys are sorted once; every subtree below then takes a contiguous run of them.
  const fresh: Fresh[] = keys.map((key, at) => ({ key, top: top32(key), at }));
  fresh.sort(byKey);
  for (let i = 1; i < fresh.length; i++)
    assert(byKey(fresh[i - 1]!, fresh[i]!) !== 0, 'vindex: a key changed twice in one batch');
  const present = new Uint8Array(keys.length);
  return { root, fresh, nodes: await readOpened(srcMany, root, fresh, present), present };
}

/**
 * foldTrie puts the new keys' leaves (hashes[i] is the leaf hash of openTrie's keys[i]) into the
 * opened trie, passes every node it creates or changes to write, and returns the new root.
 */
export function foldTrie(
  t: OpenTrie,
  hashes: readonly Hash[],
  write: (id: string, node: Uint8Array) => void,
): Child | null {
  if (t.fresh.length === 0) return t.root;
  const r = build(
    { nodes: t.nodes, fresh: t.fresh, hashes, slab: new Slab(), write },
    0,
    t.fresh.length,
    t.root,
  );
  return { split: r.split, key: r.key, hash: r.hash };
}

// lowerBound returns the first position in fresh whose key is not below key's first bits bits.
const low = new Uint8Array(HASH_SIZE);

function lowerBound(fresh: readonly Fresh[], key: Uint8Array, bits: number): number {
  low.fill(0);
  const whole = bits >> 3;
  low.set(key.subarray(0, whole));
  if (bits & 7) low[whole] = key[whole]! & (0xff << (8 - (bits & 7)));
  let lo = 0;
  let hi = fresh.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(fresh[mid]!.key, low) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// opens tells whether a new key falls inside the stored subtree c (shares its first c.split
// bits), which is when build opens it: with the keys sorted, the first one not below c's prefix.
function opens(c: Child, fresh: readonly Fresh[]): boolean {
  const i = lowerBound(fresh, c.key, c.split);
  return i < fresh.length && commonPrefix(fresh[i]!.key, c.key) >= c.split;
}

// readOpened reads, level by level, every stored node that a new key falls inside, and marks in
// present the keys whose leaf it meets.
async function readOpened(
  srcMany: NodesSource,
  root: Child | null,
  fresh: readonly Fresh[],
  present: Uint8Array,
): Promise<Opened> {
  const nodes: Opened = new Map();
  let frontier = root ? [root] : [];
  while (frontier.length > 0) {
    const ids: string[] = [];
    for (const c of frontier) {
      if (c.split === LEAF_SPLIT) {
        const i = lowerBound(fresh, c.key, LEAF_SPLIT);
        if (i < fresh.length && compare(fresh[i]!.key, c.key) === 0) present[fresh[i]!.at] = 1;
      } else if (opens(c, fresh)) ids.push(nodeId(c.split, c.key));
    }
    const got = ids.length > 0 ? await srcMany(ids) : [];
    frontier = [];
    ids.forEach((id, i) => {
      const kids = decodeNode(id, got[i] ?? null);
      nodes.set(id, kids);
      frontier.push(kids[0], kids[1]);
    });
  }
  return nodes;
}

function decodeNode(id: string, b: Uint8Array | null): [Child, Child] {
  if (!b || b.length !== 2 * CHILD_SIZE)
    throw new LogError('corrupt', `map: node ${id} is missing or malformed`);
  return [decodeChild(b, 0), decodeChild(b, CHILD_SIZE)];
}

// Slab hands out the nodes of one fold as views of a few large buffers: thousands of small
// buffers, each its own native allocation, fragmented the process's memory (RSS).
class Slab {
  private buf = new Uint8Array(0);
  private off = 0;

  take(n: number): Uint8Array {
    if (this.off + n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(n, 1 << 20));
      this.off = 0;
    }
    this.off += n;
    return this.buf.subarray(this.off - n, this.off);
  }
}

interface Build {
  readonly nodes: Opened;
  readonly fresh: readonly Fresh[];
  readonly hashes: readonly Hash[];
  readonly slab: Slab;
  readonly write: (id: string, node: Uint8Array) => void;
}

// cutAt returns the first position in [lo, hi) whose key has bit b set; the keys there share
// their first b bits, so sorted order puts those with bit b = 0 first.
function cutAt(fresh: readonly Fresh[], lo: number, hi: number, b: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bitAt(fresh[mid]!.key, b) === 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// build returns the subtree holding the new keys fresh[lo, hi) and the stored subtree `stored`
// (null: none): it branches where they first differ, and a stored node is opened only when
// every new key falls inside it. Each node it makes is hashed and written once.
function build(b: Build, lo: number, hi: number, stored: Child | null): Child {
  if (lo === hi) return stored!;
  const first = b.fresh[lo]!;
  if (!stored && hi - lo === 1)
    return { split: LEAF_SPLIT, key: first.key, hash: b.hashes[first.at]! };
  let p = commonPrefix(first.key, b.fresh[hi - 1]!.key);
  if (stored) p = Math.min(p, stored.split, commonPrefix(first.key, stored.key));
  if (stored && p === stored.split) {
    if (p === LEAF_SPLIT) {
      // The new leaf of a key already in the map replaces its stored leaf.
      assert(hi - lo === 1, 'vindex: two leaves with one key');
      return { split: LEAF_SPLIT, key: first.key, hash: b.hashes[first.at]! };
    }
    const id = nodeId(p, stored.key);
    const kids = b.nodes.get(id);
    assert(kids !== undefined, `vindex: node ${id} was opened but not read`);
    const cut = cutAt(b.fresh, lo, hi, p);
    return join(b, p, build(b, lo, cut, kids[0]), build(b, cut, hi, kids[1]));
  }
  assert(p < LEAF_SPLIT, 'vindex: two leaves with one key');
  const cut = cutAt(b.fresh, lo, hi, p);
  const right = stored !== null && bitAt(stored.key, p) === 1;
  return join(
    b,
    p,
    build(b, lo, cut, right ? null : stored),
    build(b, cut, hi, right ? stored : null),
  );
}

// join writes the node branching at bit p over l and r and returns it as its parent records it.
function join(b: Build, p: number, l: Child, r: Child): Child {
  const node = b.slab.take(2 * CHILD_SIZE);
  putChild(node, 0, l);
  putChild(node, CHILD_SIZE, r);
  b.write(nodeId(p, l.key), node);
  return { split: p, key: l.key, hash: mapNodeHash(p, l.hash, r.hash) };
}

/**
 * proveKey returns the proof for key in the trie under root: the path to its leaf, or to the
 * leftmost leaf under the node where the key leaves the trie.
 */
export async function proveKey(
  src: NodeSource,
  root: Child | null,
  key: Hash,
): Promise<{ steps: ProofStep[]; leaf: Child | null }> {
  const steps: ProofStep[] = [];
  if (!root) return { steps, leaf: null };
  let cur = root;
  let off = false; // true once the key has left the trie's paths
  while (cur.split < LEAF_SPLIT) {
    const [l, r] = await readNode(src, cur);
    if (!off && commonPrefix(key, cur.key) < cur.split) off = true;
    const right = !off && bitAt(key, cur.split) === 1;
    steps.push({ bit: cur.split, sibling: right ? l.hash : r.hash });
    cur = right ? r : l;
  }
  return { steps, leaf: cur };
}
