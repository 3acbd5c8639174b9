/**
 * Log: the pool in front of the commit path. Submissions wait in a pool until it holds maxBatch
 * entries or its oldest entry is maxAgeMs old; then one commit sequences them all. One commit
 * runs at a time; entries arriving meanwhile wait for the next. Beyond maxPending waiting entries,
 * add() refuses with 'pushback' rather than queueing without bound.
 */
import { toHex } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { EMPTY_ROOT, leafHash } from '../merkle/index.ts';
import type { NoteSigner } from '../note/index.ts';
import { parseVerifierKey } from '../note/index.ts';
import type { LogStore } from '../storage/index.ts';
import { checkEntry } from '../tiles/index.ts';
import { TileReader } from './reader.ts';
import { commitBatch, initialCommit, type CommitContext, type Pending } from './sequence.ts';
import { loadState, type LogState } from './state.ts';

/** LogOptions configures a log. */
export interface LogOptions {
  readonly origin: string;
  readonly signer: NoteSigner;
  /** maxBatch is the most entries one commit sequences (default 4096). */
  readonly maxBatch?: number;
  /** maxAgeMs is how long the oldest pending entry may wait for its batch (default 100). */
  readonly maxAgeMs?: number;
  /** maxPending is how many entries may wait before add() pushes back (default 100,000). */
  readonly maxPending?: number;
  /** keepPartials keeps superseded partial tiles in storage (default false: they are derived). */
  readonly keepPartials?: boolean;
}

/** AddResult says where an entry is: its index and the signed checkpoint that contains it. */
export interface AddResult {
  readonly index: number;
  readonly size: number;
  readonly note: string;
}

interface Waiter extends Pending {
  resolve(r: AddResult): void;
  reject(e: unknown): void;
}

const MAX_CONFLICT_RETRIES = 5;

/** Log sequences entries into a tiled tree in a store and serves reads of it. */
export class Log {
  readonly reader: TileReader;
  private readonly ctx: CommitContext;
  private readonly opts: Required<Omit<LogOptions, 'signer' | 'origin' | 'keepPartials'>>;
  private current: LogState;
  private pool: Waiter[] = [];
  private readonly inflight = new Map<string, Promise<AddResult>>();
  private committing = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stale = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();

  private constructor(ctx: CommitContext, state: LogState, opts: LogOptions) {
    this.ctx = ctx;
    this.current = state;
    this.opts = {
      maxBatch: opts.maxBatch ?? 4096,
      maxAgeMs: opts.maxAgeMs ?? 100,
      maxPending: opts.maxPending ?? 100_000,
    };
    this.reader = new TileReader(ctx.store, () => this.current.checkpoint.size);
  }

  /** open loads (or, for an empty store, creates) the log in store and verifies its right edge. */
  static async open(store: LogStore, opts: LogOptions): Promise<Log> {
    const ctx: CommitContext = {
      store,
      signer: opts.signer,
      origin: opts.origin,
      keepPartials: opts.keepPartials ?? false,
    };
    const verifier = parseVerifierKey(opts.signer.verifierKey);
    const state = (await loadState(store, verifier, opts.origin)) ?? (await initialCommit(ctx, EMPTY_ROOT));
    return new Log(ctx, state, opts);
  }

  /** state is the last committed (and published) state. */
  get state(): LogState {
    return this.current;
  }

  /** pending is the number of entries accepted but not yet committed. */
  get pending(): number {
    return this.pool.length + this.committing;
  }

  /**
   * add submits an entry and resolves once a checkpoint containing it is committed. Identical
   * bytes resolve to the index they already have.
   */
  add(entry: Uint8Array): Promise<AddResult> {
    if (this.closed) return Promise.reject(new LogError('unavailable', 'sequencer: log is closing'));
    checkEntry(entry);
    const hash = leafHash(entry);
    const hashHex = toHex(hash);
    const same = this.inflight.get(hashHex);
    if (same) return same;
    if (this.pending >= this.opts.maxPending) {
      return Promise.reject(new LogError('pushback', 'sequencer: too many pending entries, retry later'));
    }
    const p = new Promise<AddResult>((resolve, reject) => {
      this.pool.push({ entry: entry.slice(), hash, hashHex, resolve, reject });
    });
    this.inflight.set(hashHex, p);
    const forget = () => this.inflight.delete(hashHex);
    p.then(forget, forget);
    this.schedule();
    return p;
  }

  /** close stops accepting entries and waits until everything pending is committed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pool.length > 0 || this.committing > 0) {
      this.flushSoon(0);
      await this.idle;
      await new Promise((r) => setTimeout(r, 1));
    }
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.committing > 0 || this.pool.length === 0) return;
    if (this.pool.length >= this.opts.maxBatch) this.flushSoon(0);
    else if (this.timer === undefined) this.flushSoon(this.opts.maxAgeMs);
  }

  private flushSoon(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.idle = this.flush();
    }, ms);
  }

  private async flush(): Promise<void> {
    if (this.committing > 0 || this.pool.length === 0) return;
    const batch = this.pool.splice(0, this.opts.maxBatch);
    this.committing = batch.length;
    try {
      await this.commitWithRetry(batch);
    } finally {
      this.committing = 0;
      this.schedule();
    }
  }

  private async commitWithRetry(batch: Waiter[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.stale) await this.reload();
        const r = await commitBatch(this.ctx, this.current, batch);
        this.current = r.state;
        this.reader.prime(r.writes);
        const { size } = r.state.checkpoint;
        batch.forEach((w, i) => w.resolve({ index: r.indexes[i]!, size, note: r.state.note }));
        return;
      } catch (err) {
        // The commit may or may not have been applied: reload before trusting our state again.
        this.stale = true;
        const conflict = err instanceof LogError && err.code === 'conflict';
        if (conflict && attempt < MAX_CONFLICT_RETRIES) continue;
        const e = err instanceof LogError && err.code !== 'conflict' ? err
          : new LogError('unavailable', 'sequencer: commit failed, retry later', { cause: err });
        for (const w of batch) w.reject(e);
        return;
      }
    }
  }

  private async reload(): Promise<void> {
    const verifier = parseVerifierKey(this.ctx.signer.verifierKey);
    const state = await loadState(this.ctx.store, verifier, this.ctx.origin);
    if (!state) throw new LogError('corrupt', 'sequencer: the lock disappeared');
    this.current = state;
    this.stale = false;
  }
}
