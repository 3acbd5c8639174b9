/**
 * The stored trie: nodes addressed by where they sit (branching bit and key prefix), so that the
 * trie is never held in memory whole. Keys are only ever added, and adding a key never removes
 * a branch, so a node's address, once used, stays in use and is simply rewritten. Updates are
 * batched: one call folds any number of new or changed leaves into the trie, reading only the
 * nodes on their paths.
 */
import { concat, toHex } from '../bytes.ts';
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
  return concat(Uint8Array.of(c.split >> 8, c.split & 255), c.key, c.hash);
}

/** decodeChild reads encodeChild's bytes at off, or throws 'corrupt'. */
export function decodeChild(b: Uint8Array, off = 0): Child {
  if (b.length < off + CHILD_SIZE) throw new LogError('corrupt', 'map: a stored node is short');
  const split = b[off]! * 256 + b[off + 1]!;
  if (split > LEAF_SPLIT) throw new LogError('corrupt', 'map: a stored node has a bad split');
  return {
    split,
    key: b.slice(off + 2, off + 2 + HASH_SIZE),
    hash: b.slice(off + 2 + HASH_SIZE, off + CHILD_SIZE),
  };
}

/** nodeId is the storage key of the node branching at bit split above key. */
export function nodeId(split: number, key: Hash): string {
  const prefix = key.slice(0, Math.ceil(split / 8));
  if (split % 8 !== 0) prefix[prefix.length - 1]! &= 0xff << (8 - (split % 8));
  return `t/${split.toString(16).padStart(2, '0')}/${toHex(prefix)}`;
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

type Item = Child & { readonly fresh: boolean };

const byKey = (a: Item, b: Item) => {
  for (let i = 0; i < HASH_SIZE; i++) if (a.key[i] !== b.key[i]) return a.key[i]! - b.key[i]!;
  return 0;
};

// normalize sorts items and lets a fresh leaf replace the stored leaf of the same key.
function normalize(items: Item[]): Item[] {
  items.sort(byKey);
  const out: Item[] = [];
  for (const it of items) {
    const prev = out[out.length - 1];
    if (prev && prev.split === LEAF_SPLIT && it.split === LEAF_SPLIT && byKey(prev, it) === 0) {
      assert(prev.fresh !== it.fresh, 'vindex: a key changed twice in one batch');
      if (it.fresh) out[out.length - 1] = it;
    } else out.push(it);
  }
  return out;
}

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
  const items: Item[] = leaves.map((l) => ({ split: LEAF_SPLIT, ...l, fresh: true }));
  if (root) items.push({ ...root, fresh: false });
  if (items.length === 0) return null;
  const sorted = normalize(items);
  const r = build(await readOpened(srcMany, root, sorted), sorted, write);
  return { split: r.split, key: r.key, hash: r.hash };
}

// opens tells whether a new key falls inside the stored subtree c (shares its first c.split
// bits), which is when build opens it. Keys sorted: the first key not below c's prefix decides.
function opens(c: Child, sorted: readonly Item[]): boolean {
  const low = new Uint8Array(HASH_SIZE);
  const whole = c.split >> 3;
  low.set(c.key.subarray(0, whole));
  if (c.split & 7) low[whole] = c.key[whole]! & (0xff << (8 - (c.split & 7)));
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byKey(sorted[mid]!, { key: low } as Item) < 0) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < sorted.length; i++) {
    const it = sorted[i]!;
    if (commonPrefix(it.key, c.key) < c.split) return false;
    if (it.fresh) return true;
  }
  return false;
}

// readOpened reads, level by level, every stored node that a new key falls inside.
async function readOpened(
  srcMany: NodesSource,
  root: Child | null,
  sorted: readonly Item[],
): Promise<Map<string, Uint8Array | null>> {
  const nodes = new Map<string, Uint8Array | null>();
  let frontier = root ? [root] : [];
  while (frontier.length > 0) {
    const open = frontier.filter((c) => c.split < LEAF_SPLIT && opens(c, sorted));
    const ids = open.map((c) => nodeId(c.split, c.key));
    const got = ids.length > 0 ? await srcMany(ids) : [];
    frontier = [];
    ids.forEach((id, i) => {
      nodes.set(id, got[i] ?? null);
      frontier.push(...decodeNode(id, got[i] ?? null));
    });
  }
  return nodes;
}

function decodeNode(id: string, b: Uint8Array | null): [Child, Child] {
  if (!b || b.length !== 2 * CHILD_SIZE)
    throw new LogError('corrupt', `map: node ${id} is missing or malformed`);
  return [decodeChild(b, 0), decodeChild(b, CHILD_SIZE)];
}

function build(
  nodes: Map<string, Uint8Array | null>,
  sorted: Item[],
  write: (id: string, node: Uint8Array) => void,
): Child {
  let items = sorted;
  for (;;) {
    if (items.length === 1) return items[0]!;
    // Sorted keys: the prefix all share is that of the first and last; a stored subtree only
    // fixes the bits above its split.
    let p = commonPrefix(items[0]!.key, items[items.length - 1]!.key);
    for (const it of items) p = Math.min(p, it.split);
    const inner = items.find((it) => it.split === p && !it.fresh);
    if (!inner) {
      assert(p < LEAF_SPLIT, 'vindex: two leaves with one key');
      const cut = items.findIndex((it) => bitAt(it.key, p) === 1);
      const l = build(nodes, items.slice(0, cut), write);
      const r = build(nodes, items.slice(cut), write);
      write(nodeId(p, l.key), concat(encodeChild(l), encodeChild(r)));
      return { split: p, key: l.key, hash: mapNodeHash(p, l.hash, r.hash), fresh: false } as Item;
    }
    // New keys fall inside a stored subtree: open it and place them among its children.
    const id = nodeId(inner.split, inner.key);
    assert(nodes.has(id), `vindex: node ${id} was opened but not read`);
    const kids = decodeNode(id, nodes.get(id)!).map((c) => ({ ...c, fresh: false }));
    items = normalize([...items.filter((it) => it !== inner), ...kids]);
  }
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
