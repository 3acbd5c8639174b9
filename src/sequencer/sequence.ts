/**
 * The commit path: one batch of pending entries becomes one new signed checkpoint. It reads top
 * to bottom as the crash-safety argument; each step says what holds if the process dies there.
 */
import { putU64be, readU64be, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import {
  type Checkpoint,
  type Cosigner,
  formatCheckpoint,
  type Signer,
  signNoteWith,
} from '../note/index.ts';
import { CHECKPOINT_KEY, indexKey, type LogStore, type StoredObject } from '../storage/index.ts';
import { appendToEdge, edgeRoot, type TileWrite } from '../tiles/index.ts';
import { lockBytes, type LogState } from './state.ts';

/** Pending is an entry waiting to be sequenced. */
export interface Pending {
  readonly entry: Uint8Array;
  readonly hash: Hash;
  readonly hashHex: string;
}

/** CommitContext is what a commit needs besides the state. */
export interface CommitContext {
  readonly store: LogStore;
  readonly signer: Signer;
  readonly origin: string;
  /** keepPartials keeps superseded partial tiles (tlog-tiles lets a log delete them). */
  readonly keepPartials: boolean;
  /** cosigners add the log's own cosignatures (an ML-DSA-44 one, as tlog-checkpoint recommends). */
  readonly cosigners?: readonly Cosigner[];
  /**
   * publishOnCommit publishes every commit's own checkpoint in that same commit (step 4 below):
   * set when there is no witness policy and no checkpoint interval, so that a submitter is
   * answered after one durable write instead of two.
   */
  readonly publishOnCommit?: boolean;
}

/**
 * signCheckpoint signs a checkpoint with the log's Ed25519 key and appends the log's own
 * cosignatures, timestamped nowMs (Ed25519 is deterministic: only the cosignatures change). A key
 * in a token signs without blocking the event loop, and rejects as Ed25519Key.sign does.
 */
export async function signCheckpoint(
  ctx: CommitContext,
  checkpoint: Checkpoint,
  nowMs = Date.now(),
): Promise<string> {
  const text = formatCheckpoint(checkpoint);
  const now = Math.floor(nowMs / 1000);
  const cosigned = await Promise.all((ctx.cosigners ?? []).map((c) => c.cosign(text, now)));
  return (await signNoteWith(text, [ctx.signer])) + cosigned.join('');
}

/** CommitResult is the new state, each entry's index, and the tiles written. */
export interface CommitResult {
  readonly state: LogState;
  /** published is true when the commit also published state's own checkpoint (step 4). */
  readonly published: boolean;
  /**
   * committed is false when nothing was written (every entry was in the log already and no
   * publication was handed over): state is then the one given, which a pipelining caller's tip
   * may hold before it is durable.
   */
  readonly committed: boolean;
  readonly indexes: number[];
  /** existing[i] is true when batch[i] was already in the log before this batch. */
  readonly existing: boolean[];
  readonly writes: readonly TileWrite[];
}

/**
 * commitBatch sequences, integrates and commits a batch (already free of duplicates within
 * itself) on top of state. It either resolves with a state whose checkpoint contains every
 * entry, or throws having changed nothing that anyone was told about. published, when given, is
 * a cosigned checkpoint of at most state's size that the publisher hands over (publisher.ts step
 * 4): it rides this commit, so it is written under the same compare-and-swap as the tree.
 * With ctx.publishOnCommit the commit publishes its own checkpoint instead (step 4).
 */
export async function commitBatch(
  ctx: CommitContext,
  state: LogState,
  batch: readonly Pending[],
  onSigned: (next: LogState) => void = () => {},
  published?: string,
  looked?: readonly (Uint8Array | null)[],
): Promise<CommitResult> {
  // 1. Dedup against the persistent index, in one batched read. An entry already in the log
  //    keeps its index; nothing is written for it. `looked` is that read done ahead by the
  //    caller (integrator.ts, while the previous batch is written): valid only if it started
  //    after every commit that put one of these entries in `state`'s tree had resolved (read
  //    after write), which the caller guarantees; otherwise an entry could be logged twice.
  const keys = batch.map((p) => indexKey(p.hashHex));
  const known = looked ?? (await ctx.store.getMany(keys));
  const fresh: Pending[] = [];
  const freshKeys: string[] = [];
  const indexes = batch.map((p, i) => {
    const stored = known[i];
    if (!stored) {
      freshKeys.push(keys[i]!);
      return state.edge.size + fresh.push(p) - 1;
    }
    const index = readU64be(stored);
    if (index === null || index >= state.edge.size) {
      throw new LogError('corrupt', `sequencer: dedup index for ${p.hashHex} points past the tree`);
    }
    return index;
  });
  const existing = known.map((k) => k !== null);
  const publish: StoredObject[] =
    published === undefined ? [] : [{ key: CHECKPOINT_KEY, value: utf8(published) }];
  if (fresh.length === 0) {
    onSigned(state);
    // Nothing to integrate; a handed-over publication is written alone, on the same lock.
    const committed = publish.length > 0;
    if (committed)
      await ctx.store.commit({ expected: state.lock, next: state.lock, objects: publish });
    return { state, published: false, committed, indexes, existing, writes: [] };
  }

  // 2. Integrate: assign the next indexes in order and compute the new tiles, entry bundles and
  //    root from the right edge in memory. Pure: the old state stays valid if anything fails.
  const { edge, writes, superseded } = appendToEdge(
    state.edge,
    fresh.map((p) => p.entry),
    fresh.map((p) => p.hash),
  );
  const checkpoint = { origin: ctx.origin, size: edge.size, root: edgeRoot(edge), extensions: [] };

  // 3. Sign. The signature stays in this process until step 5 succeeds; if the commit fails,
  //    the next attempt reloads the lock first, so no second checkpoint of this size is committed.
  //    A token that is away is waited for here (pkcs11/key.ts), signing this same checkpoint;
  //    nothing has been written, and no later batch is signed before this one.
  const note = await signCheckpoint(ctx, checkpoint);
  const next = lockBytes(note);
  const nextState: LogState = { lock: next, note, checkpoint, edge };
  // The next batch may be sequenced on top of this one now. Its commit expects our lock, so it
  // can only succeed after ours has: a failure here makes every later pipelined commit fail too.
  onSigned(nextState);

  // 4. Publish, when there is no witness policy and no checkpoint interval (publishOnCommit): the
  //    note just signed is also the published `checkpoint` object, written by the commit below,
  //    so it becomes durable and visible atomically with the tree it covers (the S3 driver puts
  //    it after the tiles, s3.ts). It is newer than any publication handed over, which it
  //    replaces. Dying before step 5 lands publishes nothing and leaves the old state; dying
  //    after publishes both, and the submitters not yet answered retry and are answered from
  //    the dedup index. Otherwise the publisher publishes later, with the witnesses' cosignatures
  //    (publisher.ts), and an unwitnessed tree head is never served.
  const inline = ctx.publishOnCommit === true;
  if (inline) publish.splice(0, publish.length, { key: CHECKPOINT_KEY, value: utf8(note) });

  // 5. Commit: tiles, bundles, dedup index and the new lock (plus the publication of step 4 or a
  //    handed-over one), atomically and only if the lock is still the one this state was
  //    computed from. Dying before this returns leaves the old state; dying after leaves all of
  //    it durable.
  const objects: StoredObject[] = writes.map((w) => ({ key: w.path, value: w.data }));
  if (!ctx.keepPartials) for (const key of superseded) objects.push({ key, value: null });
  // One buffer holds every new index value (a small allocation per entry is GC work).
  const values = new Uint8Array(fresh.length * 8);
  freshKeys.forEach((key, i) => {
    putU64be(values, i * 8, state.edge.size + i);
    objects.push({ key, value: values.subarray(i * 8, i * 8 + 8) });
  });
  objects.push(...publish);
  await ctx.store.commit({ expected: state.lock, next, objects });

  // 6. Only now are the entries integrated: their indexes are final, and (unless step 4 already
  //    published it) the publisher may put this checkpoint, or a later one, before the
  //    witnesses. Submitters are answered once a published checkpoint covers them (pool.ts).
  return { state: nextState, published: inline, committed: true, indexes, existing, writes };
}

/** initialCommit commits the empty tree's checkpoint for a new log. */
export async function initialCommit(ctx: CommitContext, root: Hash): Promise<LogState> {
  const checkpoint = { origin: ctx.origin, size: 0, root, extensions: [] };
  const note = await signCheckpoint(ctx, checkpoint);
  const next = lockBytes(note);
  await ctx.store.commit({ expected: null, next, objects: [{ key: CHECKPOINT_KEY, value: next }] });
  return { lock: next, note, checkpoint, edge: { size: 0, levels: [], bundle: [] } };
}

/** FROZEN_PREFIX starts the extension line of a frozen log's final checkpoint (rekor-tiles). */
export const FROZEN_PREFIX = 'Log frozen \u2014 ';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** unixDate formats a time as Go's time.UnixDate in UTC: "Mon Jan  2 15:04:05 UTC 2006". */
export function unixDate(t: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const day = String(t.getUTCDate()).padStart(2, ' ');
  const time = `${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())}`;
  return `${DAYS[t.getUTCDay()]} ${MONTHS[t.getUTCMonth()]} ${day} ${time} UTC ${t.getUTCFullYear()}`;
}

/**
 * freezeCommit commits the final checkpoint of a frozen log: the same size and root, with the
 * extension line "Log frozen — <date>", after which the log accepts no entries.
 */
export async function freezeCommit(
  ctx: CommitContext,
  state: LogState,
  now: Date,
): Promise<LogState> {
  const checkpoint = {
    ...state.checkpoint,
    extensions: [...state.checkpoint.extensions, FROZEN_PREFIX + unixDate(now)],
  };
  const note = await signCheckpoint(ctx, checkpoint);
  const next = lockBytes(note);
  await ctx.store.commit({
    expected: state.lock,
    next,
    objects: [{ key: CHECKPOINT_KEY, value: next }],
  });
  return { ...state, lock: next, note, checkpoint };
}
