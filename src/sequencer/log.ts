/**
 * Log: the pool in front of the commit path. Submissions wait in a pool until it holds maxBatch
 * entries or its oldest entry is maxAgeMs old; then one commit sequences them all. Commits are
 * pipelined: the next batch is sequenced while the previous one is being written, and its commit
 * expects the previous one's lock, so it can only land after it. Beyond maxPending waiting entries,
 * add() refuses with 'pushback' rather than queueing without bound.
 */
import { concat, toHex, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { EMPTY_ROOT, type Hash, leafHash } from '../merkle/index.ts';
import type { Checkpoint, Cosigner, NoteSigner } from '../note/index.ts';
import { ALG_ED25519, keyId, parseVerifierKey } from '../note/index.ts';
import type { LogStore } from '../storage/index.ts';
import { CHECKPOINT_KEY } from '../storage/index.ts';
import { checkEntry } from '../tiles/index.ts';
import { TileReader } from './reader.ts';
import {
  commitBatch,
  type CommitContext,
  freezeCommit,
  FROZEN_PREFIX,
  initialCommit,
  type Pending,
} from './sequence.ts';

/** FROZEN_MESSAGE is rekor-tiles' answer to a write on a frozen log. */
export const FROZEN_MESSAGE = 'This log has been frozen, please switch to the latest log.';
import { loadState, type LogState } from './state.ts';

/** LogOptions configures a log. */
export interface LogOptions {
  readonly origin: string;
  readonly signer: NoteSigner;
  /** maxBatch is the most entries one commit sequences (default 4096). */
  readonly maxBatch?: number;
  /** maxAgeMs is how long the oldest pending entry may wait for its batch (default 10). */
  readonly maxAgeMs?: number;
  /** maxPending is how many entries may wait before add() pushes back (default 100,000). */
  readonly maxPending?: number;
  /** keepPartials keeps superseded partial tiles in storage (default false: they are derived). */
  readonly keepPartials?: boolean;
  /** cosigners add the log's own cosignatures to every checkpoint (e.g. ML-DSA-44). */
  readonly cosigners?: readonly Cosigner[];
  /** witnessing collects witness cosignatures for each new checkpoint before it is acknowledged. */
  readonly witnessing?: CheckpointWitnessing;
  /** failOpen acknowledges entries even when the witness quorum is not reached (as rekor-tiles can). */
  readonly failOpen?: boolean;
  /** events observe the log (metrics); they must not throw. */
  readonly events?: LogEvents;
}

/** LogEvents are the sequencer's observable moments, for metrics and logs. */
export interface LogEvents {
  committed?(info: { entries: number; fresh: number; size: number; ms: number }): void;
  pushback?(): void;
  failed?(code: string): void;
}

/** CheckpointWitnessing cosigns a committed checkpoint (src/witness Witnessing implements it). */
export interface CheckpointWitnessing {
  cosign(
    note: string,
    cp: Checkpoint,
    prove: (size1: number, size2: number) => Promise<Hash[]>,
  ): Promise<{ note: string; quorum: boolean }>;
}

/** AddResult says where an entry is: its index and the signed checkpoint that contains it. */
export interface AddResult {
  readonly index: number;
  /** duplicate is true when identical bytes were already committed before this submission. */
  readonly duplicate: boolean;
  readonly size: number;
  readonly note: string;
}

interface Waiter extends Pending {
  resolve(r: AddResult): void;
  reject(e: unknown): void;
  /** conflicts counts the commits this entry was in that lost a race with another writer. */
  conflicts: number;
}

// A batch that loses the lock to another writer is sequenced again on the new state, this often.
const MAX_CONFLICTS = 8;

// Two batches in flight: one being written while the next is sequenced. More buys nothing,
// since the store applies commits one at a time.
const PIPELINE = 2;

/** Log sequences entries into a tiled tree in a store and serves reads of it. */
export class Log {
  readonly reader: TileReader;
  private readonly ctx: CommitContext;
  private readonly opts: Required<
    Omit<
      LogOptions,
      'signer' | 'origin' | 'keepPartials' | 'cosigners' | 'witnessing' | 'failOpen' | 'events'
    >
  >;
  private readonly events: LogEvents;
  private oldestPending = 0;
  private lastCommitAt = Date.now();
  private readonly witnessing: CheckpointWitnessing | undefined;
  private readonly failOpen: boolean;
  private current: LogState;
  private pool: Waiter[] = [];
  private readonly inflight = new Map<string, Promise<AddResult>>();
  // tip is current plus the batches sequenced and signed but not yet durable.
  private tip: LogState;
  private committing = 0;
  private inFlight = 0;
  private sequencing = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stale = false;
  private closed = false;
  private readOnly = false;

  private constructor(ctx: CommitContext, state: LogState, opts: LogOptions) {
    this.ctx = ctx;
    this.current = state;
    this.tip = state;
    this.opts = {
      maxBatch: opts.maxBatch ?? 4096,
      maxAgeMs: opts.maxAgeMs ?? 10,
      maxPending: opts.maxPending ?? 100_000,
    };
    this.reader = new TileReader(ctx.store, () => this.current.checkpoint.size);
    this.witnessing = opts.witnessing;
    this.events = opts.events ?? {};
    this.failOpen = opts.failOpen ?? false;
  }

  /** open loads (or, for an empty store, creates) the log in store and verifies its right edge. */
  static async open(store: LogStore, opts: LogOptions): Promise<Log> {
    const ctx: CommitContext = {
      store,
      signer: opts.signer,
      origin: opts.origin,
      keepPartials: opts.keepPartials ?? false,
      cosigners: opts.cosigners ?? [],
    };
    const verifier = parseVerifierKey(opts.signer.verifierKey);
    const state =
      (await loadState(store, verifier, opts.origin)) ?? (await initialCommit(ctx, EMPTY_ROOT));
    return new Log(ctx, state, opts);
  }

  /**
   * logKeyId is the full 32-byte C2SP key ID of the log's signing key, SHA-256(name ‖ 0x0A ‖
   * 0x01 ‖ public key): what Rekor v2 publishes as logId and checkpointKeyId.
   */
  get logKeyId(): Uint8Array {
    return keyId(
      this.ctx.signer.name,
      concat(Uint8Array.of(ALG_ED25519), this.ctx.signer.publicKey),
    );
  }

  /** signer is the log's checkpoint signer. */
  get signer(): NoteSigner {
    return this.ctx.signer;
  }

  /** state is the last committed (and published) state. */
  get state(): LogState {
    return this.current;
  }

  /** frozen reports whether the log is read-only: a mirror, or its checkpoint carries the freeze line. */
  get frozen(): boolean {
    return (
      this.readOnly || this.current.checkpoint.extensions.some((e) => e.startsWith(FROZEN_PREFIX))
    );
  }

  /**
   * openReadOnly opens a log whose signing key this process does not have (a mirror): it serves
   * reads and proofs, verifies the lock with the log's verifier key, and refuses writes.
   */
  static async openReadOnly(
    store: LogStore,
    opts: { origin: string; verifierKey: string },
  ): Promise<Log> {
    const verifier = parseVerifierKey(opts.verifierKey);
    const state = await loadState(store, verifier, opts.origin);
    if (!state) throw new LogError('not_found', 'sequencer: the store holds no log to serve');
    const signer: NoteSigner = {
      name: verifier.name,
      keyHash: verifier.keyHash,
      publicKey: verifier.publicKey,
      verifierKey: opts.verifierKey,
      sign: () => {
        throw new Error('assertion failed: sequencer: a read-only log never signs');
      },
    };
    const ctx: CommitContext = { store, signer, origin: opts.origin, keepPartials: true };
    const log = new Log(ctx, state, { origin: opts.origin, signer });
    log.readOnly = true;
    return log;
  }

  /** freeze commits the final, frozen checkpoint; the log accepts no entries afterwards. */
  async freeze(now = new Date()): Promise<void> {
    this.closed = true;
    await this.close();
    if (!this.frozen) this.current = this.tip = await freezeCommit(this.ctx, this.current, now);
  }

  /**
   * stuckForMs is how long submissions have been waiting with no commit landing (0 when nothing
   * is pending): the health check fails when it grows past a few batching windows.
   */
  get stuckForMs(): number {
    return this.pending === 0 || this.oldestPending === 0
      ? 0
      : Date.now() - Math.max(this.oldestPending, this.lastCommitAt);
  }

  /** pending is the number of entries accepted but not yet committed. */
  get pending(): number {
    return this.pool.length + this.committing;
  }

  /**
   * add submits an entry and resolves once a checkpoint containing it is committed. Identical
   * bytes resolve to the index they already have. The log keeps entry: do not modify it after.
   */
  add(entry: Uint8Array): Promise<AddResult> {
    if (this.frozen) return Promise.reject(new LogError('frozen', FROZEN_MESSAGE));
    if (this.closed)
      return Promise.reject(new LogError('unavailable', 'sequencer: log is closing'));
    checkEntry(entry);
    const hash = leafHash(entry);
    const hashHex = toHex(hash);
    const same = this.inflight.get(hashHex);
    if (same) return same;
    if (this.pending >= this.opts.maxPending) {
      this.events.pushback?.();
      return Promise.reject(
        new LogError('pushback', 'sequencer: too many pending entries, retry later'),
      );
    }
    if (this.pool.length === 0 && this.committing === 0) this.oldestPending = Date.now();
    const p = new Promise<AddResult>((resolve, reject) => {
      this.pool.push({ entry, hash, hashHex, resolve, reject, conflicts: 0 });
    });
    this.inflight.set(hashHex, p);
    this.schedule();
    return p;
  }

  /** close stops accepting entries and waits until everything pending is committed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pool.length > 0 || this.inFlight > 0) {
      this.flushSoon(0);
      await new Promise((r) => setTimeout(r, 2));
    }
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.pool.length === 0) return;
    if (this.pool.length >= this.opts.maxBatch) this.flushSoon(0);
    else if (this.timer === undefined) this.flushSoon(this.opts.maxAgeMs);
  }

  private flushSoon(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, ms);
  }

  // flush starts sequencing the next batch if the pipeline has room: at most PIPELINE batches
  // between sequencing and acknowledgement, and one being sequenced at a time.
  private flush(): void {
    if (this.sequencing || this.inFlight >= PIPELINE || this.pool.length === 0) return;
    if (this.stale && this.inFlight > 0) return; // reload only once the pipeline has drained
    const batch = this.pool.splice(0, this.opts.maxBatch);
    this.sequencing = true;
    this.inFlight++;
    this.committing += batch.length;
    void this.run(batch);
  }

  private async run(batch: Waiter[]): Promise<void> {
    let sequenced = false;
    const signed = (next: LogState) => {
      this.tip = next;
      this.sequencing = false;
      sequenced = true;
      this.schedule();
    };
    try {
      if (this.stale) await this.reload();
      const started = Date.now();
      const r = await commitBatch(this.ctx, this.tip, batch, signed);
      this.current = r.state;
      this.lastCommitAt = Date.now();
      this.oldestPending = this.pool.length > 0 ? Date.now() : 0;
      this.events.committed?.({
        entries: batch.length,
        fresh: r.existing.filter((e) => !e).length,
        size: r.state.checkpoint.size,
        ms: this.lastCommitAt - started,
      });
      this.reader.prime(r.writes);
      const note = r.writes.length > 0 ? await this.witness(r.state) : this.current.note;
      const { size } = r.state.checkpoint;
      batch.forEach((w, i) => {
        this.inflight.delete(w.hashHex);
        w.resolve({ index: r.indexes[i]!, duplicate: r.existing[i]!, size, note });
      });
    } catch (err) {
      // The commit may or may not have been applied: reload before trusting our state again.
      this.stale = true;
      this.events.failed?.(err instanceof LogError ? err.code : 'bug');
      if (
        err instanceof LogError &&
        err.code === 'conflict' &&
        batch.every((w) => ++w.conflicts < MAX_CONFLICTS)
      ) {
        // Another writer (or a failed commit before ours in the pipeline) moved the lock: the
        // batch goes back to the front of the pool and is sequenced again after a reload. Entries
        // that did land are found by the dedup index and keep their index.
        this.pool.unshift(...batch);
        return;
      }
      const e =
        err instanceof LogError && err.code !== 'conflict'
          ? err
          : new LogError('unavailable', 'sequencer: commit failed, retry later', { cause: err });
      for (const w of batch) {
        this.inflight.delete(w.hashHex);
        w.reject(e);
      }
    } finally {
      if (!sequenced) this.sequencing = false; // failed before signing: free the sequencing slot
      this.inFlight--;
      this.committing -= batch.length;
      this.schedule();
    }
  }

  /**
   * witness collects cosignatures for a just-committed checkpoint and publishes the cosigned note
   * (same lock, so later pipelined commits stay valid; if one already landed, the newer checkpoint
   * is published instead). Without the quorum it throws unless the log fails open.
   */
  private async witness(state: LogState): Promise<string> {
    if (!this.witnessing) return state.note;
    const c = await this.witnessing.cosign(state.note, state.checkpoint, (a, b) =>
      this.reader.proveConsistency(a, b),
    );
    if (!c.quorum && !this.failOpen)
      throw new LogError(
        'unavailable',
        'sequencer: the witness quorum was not reached, retry later',
      );
    try {
      await this.ctx.store.commit({
        expected: state.lock,
        next: state.lock,
        objects: [{ key: CHECKPOINT_KEY, value: utf8(c.note) }],
      });
      if (this.current.lock === state.lock) this.current = { ...this.current, note: c.note };
    } catch (err) {
      if (!(err instanceof LogError && err.code === 'conflict')) throw err;
    }
    return c.note;
  }

  /**
   * refresh adopts a lock committed by another writer sharing the store (S3), so reads and the
   * next batch start from it. It does nothing while this log has commits in flight.
   */
  async refresh(): Promise<void> {
    if (this.inFlight > 0 || this.sequencing || this.closed) return;
    this.stale = true;
    this.inFlight++; // holds the pipeline while the state is read
    try {
      await this.reload();
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private async reload(): Promise<void> {
    const verifier = parseVerifierKey(this.ctx.signer.verifierKey);
    const state = await loadState(this.ctx.store, verifier, this.ctx.origin);
    if (!state) throw new LogError('corrupt', 'sequencer: the lock disappeared');
    this.current = state;
    this.tip = state;
    this.stale = false;
  }
}
