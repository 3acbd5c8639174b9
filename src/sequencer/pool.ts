/**
 * The pool: submissions this instance admitted, from admission until they are answered. Entries
 * wait until the pool holds maxBatch of them or the oldest is maxAgeMs old; then the batch goes
 * to the sequencer (the local integrator, or a remote one through forwarding), which answers with
 * each entry's index once it is durably committed. A submitter is answered only when a published
 * checkpoint covers its index, with that checkpoint; one whose deadline passes first gets 503.
 *
 * Owned by Pool (nothing else touches it): the waiters in all three stages (waiting for a batch,
 * being sequenced, waiting for publication), the in-flight dedup map, the batching timer, the
 * deadline sweep, and the newest published checkpoint it has been told about.
 */
import { toHex } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { leafHash } from '../merkle/index.ts';
import { checkEntry } from '../tiles/index.ts';
import type { Clock } from './clock.ts';
import type { Pending } from './sequence.ts';
import type { Published } from './state.ts';

/** AddResult says where an entry is: its index and the published checkpoint that contains it. */
export interface AddResult {
  readonly index: number;
  /** duplicate is true when identical bytes were already committed before this submission. */
  readonly duplicate: boolean;
  readonly size: number;
  readonly note: string;
}

/** Sequenced is where the sequencer put an entry. */
export interface Sequenced {
  readonly index: number;
  readonly duplicate: boolean;
}

/**
 * Sequencer durably sequences admitted entries: the local integrator, or a forwarder to the
 * instance that holds the lease. sequence() resolves with one Sequenced per entry, in order, only
 * once they are durably committed (idempotent: identical bytes keep their index, so a batch may be
 * sent again after an unknown outcome); it rejects with a LogError ('unavailable', 'pushback',
 * 'frozen', …) when it cannot say, and the entries may or may not have been committed.
 */
export interface Sequencer {
  sequence(batch: readonly Pending[]): Promise<Sequenced[]>;
}

/** PoolOptions configures a pool. */
export interface PoolOptions {
  readonly maxBatch: number;
  readonly maxAgeMs: number;
  /**
   * batchAgeMs, when given, is asked for the batch age each time a batch starts to fill instead of
   * maxAgeMs (a cluster instance waits longer while its batches travel to another instance).
   */
  readonly batchAgeMs?: () => number;
  readonly maxPending: number;
  /** deadlineMs is how long a submitter waits for a covering checkpoint before a 503. */
  readonly deadlineMs: number;
  readonly clock: Clock;
  readonly onPushback?: () => void;
}

interface Waiter extends Pending {
  readonly admitted: number;
  index?: number;
  duplicate?: boolean;
  // awaiting: sequenced, and waiting for a publication that covers it (counted in awaiting).
  awaiting?: boolean;
  settled: boolean;
  readonly answered: Promise<AddResult>;
  resolve(r: AddResult): void;
  reject(e: unknown): void;
}

/** Pool holds admitted entries until a published checkpoint answers them; see above. */
export class Pool {
  private readonly sequencer: Sequencer;
  private readonly opts: PoolOptions;
  private queue: Waiter[] = [];
  // waiting: every admitted entry not yet answered, by its leaf hash in hex (identical bytes in
  // flight share one waiter).
  private readonly waiting = new Map<string, Waiter>();
  private awaitingCount = 0;
  private published: Published;
  private lastProgress: number;
  // expiredSince: the admission of the oldest submission refused at its deadline since the last
  // publication (the sequencer is waiting for storage or a signing token that is away).
  private expiredSince: number | undefined;
  private cancelFlush: (() => void) | undefined;
  private flushMs = 0;
  private cancelSweep: (() => void) | undefined;
  private closed = false;
  private drained: (() => void) | undefined;

  constructor(sequencer: Sequencer, published: Published, opts: PoolOptions) {
    this.sequencer = sequencer;
    this.published = published;
    this.opts = opts;
    this.lastProgress = opts.clock.now();
  }

  /** pending is the number of admitted entries not yet answered. */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * awaiting is the number of entries the sequencer has placed that no publication the pool was
   * told about covers yet: while it is not 0, a frontend reads the published checkpoint often.
   */
  get awaiting(): number {
    return this.awaitingCount;
  }

  /**
   * stuckForMs is how long the oldest waiting submission (or one refused at its deadline) has
   * waited with no publication since (0 when there is none): the health check fails when it
   * grows past a few intervals, and passes again with the next publication.
   */
  get stuckForMs(): number {
    let oldest = this.expiredSince ?? Infinity;
    for (const w of this.waiting.values()) oldest = Math.min(oldest, w.admitted);
    if (oldest === Infinity) return 0;
    return Math.max(0, this.opts.clock.now() - Math.max(oldest, this.lastProgress));
  }

  /**
   * add admits an entry and resolves once a published checkpoint covers it. Identical bytes in
   * flight share one answer. The pool keeps entry: do not modify it after.
   */
  add(entry: Uint8Array): Promise<AddResult> {
    if (this.closed)
      return Promise.reject(new LogError('unavailable', 'sequencer: log is closing'));
    checkEntry(entry);
    const hash = leafHash(entry);
    const hashHex = toHex(hash);
    const same = this.waiting.get(hashHex);
    if (same) return same.answered;
    if (this.waiting.size >= this.opts.maxPending) {
      this.opts.onPushback?.();
      return Promise.reject(
        new LogError('pushback', 'sequencer: too many pending entries, retry later'),
      );
    }
    let resolve!: (r: AddResult) => void;
    let reject!: (e: unknown) => void;
    const answered = new Promise<AddResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const admitted = this.opts.clock.now();
    const w: Waiter = { entry, hash, hashHex, admitted, settled: false, answered, resolve, reject };
    this.waiting.set(hashHex, w);
    this.queue.push(w);
    this.schedule();
    this.sweepLater();
    return answered;
  }

  /** publish tells the pool about a newly published checkpoint: it answers what that covers. */
  publish(p: Published): void {
    if (p.checkpoint.size < this.published.checkpoint.size) return;
    this.published = p;
    this.lastProgress = this.opts.clock.now();
    this.expiredSince = undefined;
    for (const w of this.waiting.values())
      if (w.index !== undefined && w.index < p.checkpoint.size) this.answer(w);
  }

  /** close stops admitting and resolves once every admitted entry has been answered. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    if (this.waiting.size > 0) await new Promise<void>((r) => (this.drained = r));
    this.cancelFlush?.();
    this.cancelSweep?.();
  }

  // schedule sets the batching timer: the batch age once a batch starts to fill, and 0 (at the
  // next turn) once it is full, replacing a longer timer already set.
  private schedule(): void {
    if (this.queue.length === 0) return;
    const full = this.queue.length >= this.opts.maxBatch;
    if (this.cancelFlush && !(full && this.flushMs > 0)) return;
    this.cancelFlush?.();
    this.flushMs = full ? 0 : (this.opts.batchAgeMs?.() ?? this.opts.maxAgeMs);
    this.cancelFlush = this.opts.clock.after(this.flushMs, () => {
      this.cancelFlush = undefined;
      this.flush();
    });
  }

  // flush hands everything queued to the sequencer, in batches of at most maxBatch.
  private flush(): void {
    while (this.queue.length > 0) void this.send(this.queue.splice(0, this.opts.maxBatch));
  }

  private async send(batch: Waiter[]): Promise<void> {
    try {
      const r = await this.sequencer.sequence(batch);
      batch.forEach((w, i) => {
        w.index = r[i]!.index;
        w.duplicate = r[i]!.duplicate;
        if (w.index < this.published.checkpoint.size) this.answer(w);
        else if (!w.settled) {
          w.awaiting = true;
          this.awaitingCount++;
        }
      });
    } catch (err) {
      const e =
        err instanceof LogError && err.code !== 'conflict'
          ? err
          : new LogError('unavailable', 'sequencer: commit failed, retry later', { cause: err });
      for (const w of batch) this.settle(w, () => w.reject(e));
    }
  }

  private answer(w: Waiter): void {
    const { note, checkpoint } = this.published;
    this.settle(w, () =>
      w.resolve({ index: w.index!, duplicate: w.duplicate!, size: checkpoint.size, note }),
    );
  }

  private settle(w: Waiter, f: () => void): void {
    if (w.settled) return;
    w.settled = true;
    if (w.awaiting) this.awaitingCount--;
    this.waiting.delete(w.hashHex);
    f();
    if (this.waiting.size === 0) this.drained?.();
  }

  // The deadline sweep: a submitter that no published checkpoint answered in time gets 503 (its
  // entry may still be published later; retrying finds it through dedup).
  private sweepLater(): void {
    if (this.cancelSweep) return;
    const every = Math.max(10, Math.min(1000, this.opts.deadlineMs / 4));
    this.cancelSweep = this.opts.clock.after(every, () => {
      this.cancelSweep = undefined;
      const now = this.opts.clock.now();
      const e = new LogError(
        'unavailable',
        'sequencer: no checkpoint covering the entry was published in time, retry later',
      );
      for (const w of this.waiting.values()) {
        if (now - w.admitted < this.opts.deadlineMs) continue;
        this.expiredSince = Math.min(this.expiredSince ?? Infinity, w.admitted);
        this.settle(w, () => w.reject(e));
      }
      if (this.waiting.size > 0) this.sweepLater();
    });
  }
}
