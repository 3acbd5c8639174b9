/**
 * The integrator: turns sequenced batches into durable commits through sequence.ts, the one
 * crash-safety argument. Commits are pipelined: the next batch is sequenced while the previous
 * one is being written, and its commit expects the previous one's lock, so it can only land after
 * it. A batch that loses the lock to another writer is sequenced again after a reload. It also
 * writes the publisher's cosigned checkpoint, riding the next commit (or alone), so that write is
 * ordered with the tree and compare-and-swapped on the same lock; without witnesses and with no
 * checkpoint interval every commit publishes its own checkpoint (sequence.ts step 4).
 *
 * The dedup read of each handed-over batch (sequence.ts step 1) starts as soon as it is handed
 * over, so it runs while earlier batches are written. That is sound because an entry is in flight
 * (and so in no other batch) from then until its commit resolves: any commit that holds it has
 * resolved before its read starts. A reload (another writer's commits) makes every read started
 * before it stale, and commitBatch then reads again.
 *
 * Owned by Integrator: the integrated state (durable `current`, sequenced-but-not-durable `tip`),
 * the queue of entries to sequence with their in-flight dedup and early reads, the pipeline,
 * conflict retry and reload (and its generation), and the publication waiting to be written. It
 * runs between start() and stop(), so a lease can make an instance the sequencer and take it away.
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { parseVerifierKey } from '../note/index.ts';
import { indexKey } from '../storage/index.ts';
import type { TileWrite } from '../tiles/index.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Sequenced, Sequencer } from './pool.ts';
import { commitBatch, type CommitContext, freezeCommit, type Pending } from './sequence.ts';
import { loadState, type LogState } from './state.ts';

/** IntegratorEvents are the integrator's observable moments, for metrics; they must not throw. */
export interface IntegratorEvents {
  committed?(info: { entries: number; fresh: number; size: number; ms: number }): void;
  failed?(code: string): void;
}

/** IntegratorOptions configures an integrator. */
export interface IntegratorOptions {
  /** maxBatch is the most entries one commit sequences. */
  readonly maxBatch: number;
  /**
   * pipelinePartial (default true) lets a batch short of maxBatch be sequenced while a commit is
   * in flight. False where a commit costs the same whatever its size (S3: a few round trips):
   * such a batch would only wait for the one in flight, then take a round trip of its own, and
   * every entry that arrives meanwhile would wait for a third commit. Full batches still overlap.
   */
  readonly pipelinePartial?: boolean;
  /**
   * gatherMs, when given, is asked before a partial batch starts with no commit in flight: how
   * long it may wait for more entries (0: start now), given when the previous batch started (its
   * clock.monotonic()). It is asked again at each arrival and the wait ends at the first 0. A
   * cluster's sequencer waits for the batches its frontends forward (cut after the previous
   * commit's answers), so one commit carries them: fewer, bigger commits, each costing the same.
   */
  readonly gatherMs?: (since: number) => number;
  /** clock times the gathering wait (default systemClock; tests inject one). */
  readonly clock?: Clock;
  readonly events?: IntegratorEvents;
  /**
   * onCommitted sees every durable commit's state and tile writes (reader cache, publisher), and
   * whether that commit also published its checkpoint (CommitContext.publishOnCommit).
   */
  readonly onCommitted?: (
    state: LogState,
    writes: readonly TileWrite[],
    published: boolean,
  ) => void;
}

// Lookup is the early dedup read of the entries one sequence() call added (see above).
interface Lookup {
  /** gen is the reload generation it started in: a read from an older one is stale. */
  readonly gen: number;
  /** known is the read's answer, one per entry added; undefined until it lands, or if it failed. */
  known?: readonly (Uint8Array | null)[];
  done?: Promise<void>;
}

// Job is one sequence() call, answered once with every entry's place (or rejected once): one
// promise per batch rather than one per entry, which was GC work at tens of thousands a second.
interface Job {
  readonly results: Sequenced[];
  left: number;
  settled: boolean;
  resolve(r: Sequenced[]): void;
  reject(e: unknown): void;
}

interface Item {
  readonly p: Pending;
  readonly lookup: Lookup;
  /** at is the entry's place in lookup.known. */
  readonly at: number;
  /** job and slot are where its answer goes; more are the calls that sent the same bytes. */
  readonly job: Job;
  readonly slot: number;
  more?: { job: Job; slot: number }[];
  /** conflicts counts the commits this entry was in that lost a race with another writer. */
  conflicts: number;
}

interface Publication {
  readonly note: string;
  resolve(): void;
  reject(e: unknown): void;
}

// A batch that loses the lock to another writer is sequenced again on the new state, this often.
const MAX_CONFLICTS = 8;

// Two batches in flight: one being written while the next is sequenced. More buys nothing,
// since the store applies commits one at a time.
const PIPELINE = 2;

/** Integrator commits batches on top of the integrated state; see above. */
export class Integrator implements Sequencer {
  private readonly ctx: CommitContext;
  private readonly opts: IntegratorOptions;
  private current: LogState;
  private tip: LogState;
  private queue: Item[] = [];
  private readonly inflight = new Map<string, Item>();
  // gen counts reloads: a dedup read started before the last one is stale.
  private gen = 0;
  private publication: Publication | undefined;
  private inFlight = 0;
  private sequencing = false;
  private stale = false;
  private running = false;
  private idle: (() => void) | undefined;
  // The gathering wait of a partial batch (gatherMs), and when the last batch started.
  private cancelGather: (() => void) | undefined;
  private gathered = false;
  private batchAt = 0;
  private readonly clock: Clock;

  constructor(ctx: CommitContext, state: LogState, opts: IntegratorOptions) {
    this.ctx = ctx;
    this.current = state;
    this.tip = state;
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
  }

  /** state is the last durably committed (integrated) state. */
  get state(): LogState {
    return this.current;
  }

  /** queued is the number of entries handed over and not yet durably committed. */
  get queued(): number {
    return this.inflight.size;
  }

  /**
   * start lets the integrator commit, after reloading the state another writer may have moved;
   * fresh skips that reload when the state it was constructed with was just read (a takeover).
   */
  start(fresh = false): void {
    this.running = true;
    this.stale = !fresh;
    this.kick();
  }

  /**
   * stop refuses new work and resolves once the commits in flight have settled; queued entries
   * are refused with 'unavailable' (the pool or a forwarder sends them again).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelGather?.();
    this.cancelGather = undefined;
    const e = new LogError('unavailable', 'sequencer: this instance stopped sequencing');
    for (const it of this.queue.splice(0)) this.fail(it, e);
    this.publication?.reject(e);
    this.publication = undefined;
    if (this.inFlight > 0) await new Promise<void>((r) => (this.idle = r));
  }

  /** sequence implements Sequencer: it resolves once every entry is durably committed. */
  sequence(batch: readonly Pending[]): Promise<Sequenced[]> {
    if (!this.running)
      return Promise.reject(new LogError('unavailable', 'sequencer: not sequencing'));
    let job!: Job;
    const answered = new Promise<Sequenced[]>((resolve, reject) => {
      const results = new Array<Sequenced>(batch.length);
      job = { results, left: batch.length, settled: false, resolve, reject };
    });
    if (batch.length === 0) job.resolve([]);
    const lookup: Lookup = { gen: this.gen };
    const keys: string[] = [];
    batch.forEach((p, slot) => {
      const same = this.inflight.get(p.hashHex);
      if (same) {
        (same.more ??= []).push({ job, slot });
        return;
      }
      const it: Item = {
        p,
        lookup,
        at: keys.push(indexKey(p.hashHex)) - 1,
        job,
        slot,
        conflicts: 0,
      };
      this.queue.push(it);
      this.inflight.set(p.hashHex, it);
    });
    // A failed read is not an error here: commitBatch reads again and fails the batch if it must.
    if (keys.length > 0)
      lookup.done = this.ctx.store.getMany(keys).then(
        (k) => void (lookup.known = k),
        () => {},
      );
    this.kick();
    return answered;
  }

  /**
   * publish writes a cosigned checkpoint (no larger than the integrated tree) as the published
   * `checkpoint` object, in the next commit or alone, under the lock's compare-and-swap. It
   * resolves once durable; it rejects if that commit failed (a newer publish replaces an older
   * one still waiting, which is then resolved along with it).
   */
  publish(note: string): Promise<void> {
    if (!this.running)
      return Promise.reject(new LogError('unavailable', 'sequencer: not sequencing'));
    const older = this.publication;
    const p = new Promise<void>((resolve, reject) => {
      this.publication = { note, resolve, reject };
    });
    if (older) p.then(older.resolve, older.reject);
    this.kick();
    return p;
  }

  /**
   * refresh adopts a lock committed by another writer sharing the store (S3), so reads and the
   * next batch start from it. It does nothing while commits are in flight.
   */
  async refresh(): Promise<void> {
    if (this.inFlight > 0 || this.sequencing) return;
    this.inFlight++; // holds the pipeline while the state is read
    try {
      await this.reload();
    } finally {
      this.settled();
    }
  }

  /** freeze commits the final, frozen checkpoint; call it stopped, with nothing in flight. */
  async freeze(now: Date): Promise<LogState> {
    this.current = this.tip = await freezeCommit(this.ctx, this.current, now);
    return this.current;
  }

  private kick(): void {
    if (!this.running || this.sequencing || this.inFlight >= PIPELINE) return;
    if (this.queue.length === 0 && !this.publication) return;
    if (this.stale && this.inFlight > 0) return; // reload only once the pipeline has drained
    const partial = this.queue.length < this.opts.maxBatch;
    if (partial && this.inFlight > 0 && this.opts.pipelinePartial === false) return;
    if (partial && this.inFlight === 0 && this.queue.length > 0 && this.gather()) return;
    this.cancelGather?.();
    this.cancelGather = undefined;
    this.gathered = false;
    this.batchAt = this.clock.monotonic();
    const batch = this.queue.splice(0, this.opts.maxBatch);
    const pub = this.publication;
    this.publication = undefined;
    this.sequencing = true;
    this.inFlight++;
    void this.run(batch, pub);
  }

  // gather says whether a partial batch waits for more (gatherMs), arming the wait's timer once.
  private gather(): boolean {
    if (this.gathered || !this.opts.gatherMs) return false;
    const ms = this.opts.gatherMs(this.batchAt);
    if (ms <= 0) return false;
    this.cancelGather ??= this.clock.after(ms, () => {
      this.cancelGather = undefined;
      this.gathered = true;
      this.kick();
    });
    return true;
  }

  private async run(batch: Item[], pub: Publication | undefined): Promise<void> {
    let sequenced = false;
    const signed = (next: LogState) => {
      this.tip = next;
      this.sequencing = false;
      sequenced = true;
      this.kick();
    };
    try {
      if (this.stale) await this.reload();
      const started = Date.now();
      const entries = batch.map((it) => it.p);
      const looked = await this.looked(batch);
      const r = await commitBatch(this.ctx, this.tip, entries, signed, pub?.note, looked);
      // Only a commit makes its state durable. A batch of entries all in the log already commits
      // nothing, and the tip it was sequenced on may be a commit still being written: taken as
      // the integrated state, it sent readers to tiles not yet in storage (500 "missing").
      if (r.committed) this.current = r.state;
      this.opts.events?.committed?.({
        entries: batch.length,
        fresh: r.existing.filter((e) => !e).length,
        size: r.state.checkpoint.size,
        ms: Date.now() - started,
      });
      batch.forEach((it, i) => {
        this.inflight.delete(it.p.hashHex);
        const s: Sequenced = { index: r.indexes[i]!, duplicate: r.existing[i]! };
        answer(it.job, it.slot, s);
        it.more?.forEach((m) => answer(m.job, m.slot, s));
      });
      pub?.resolve();
      if (r.writes.length > 0) this.opts.onCommitted?.(r.state, r.writes, r.published);
    } catch (err) {
      this.failed(batch, pub, err);
    } finally {
      if (!sequenced) this.sequencing = false; // failed before signing: free the slot
      this.settled();
    }
  }

  private failed(batch: Item[], pub: Publication | undefined, err: unknown): void {
    // The commit may or may not have been applied: reload before trusting our state again.
    this.stale = true;
    this.opts.events?.failed?.(err instanceof LogError ? err.code : 'bug');
    pub?.reject(err);
    const conflict = err instanceof LogError && err.code === 'conflict';
    if (conflict && this.running && batch.every((it) => ++it.conflicts < MAX_CONFLICTS)) {
      // Another writer (or a failed commit before ours in the pipeline) moved the lock: the
      // batch goes back to the front of the queue and is sequenced again after a reload.
      // Entries that did land are found by the dedup index and keep their index.
      this.queue.unshift(...batch);
      return;
    }
    for (const it of batch) this.fail(it, err);
  }

  private fail(it: Item, err: unknown): void {
    this.inflight.delete(it.p.hashHex);
    refuse(it.job, err);
    it.more?.forEach((m) => refuse(m.job, err));
  }

  // looked waits for the early dedup reads of batch and returns their answers in batch order,
  // or undefined if one failed or started before the last reload (commitBatch then reads).
  private async looked(batch: readonly Item[]): Promise<(Uint8Array | null)[] | undefined> {
    let last: Lookup | undefined;
    for (const it of batch) if (it.lookup !== last) await (last = it.lookup).done;
    if (batch.some((it) => it.lookup.gen !== this.gen || !it.lookup.known)) return undefined;
    return batch.map((it) => it.lookup.known![it.at]!);
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0) {
      this.idle?.();
      this.idle = undefined;
    }
    this.kick();
  }

  private async reload(): Promise<void> {
    const verifier = parseVerifierKey(this.ctx.signer.verifierKey);
    const state = await loadState(this.ctx.store, verifier, this.ctx.origin);
    if (!state) throw new LogError('corrupt', 'sequencer: the lock disappeared');
    const moved = !equal(state.lock, this.current.lock);
    // Only now, with the lock read (and an IndexedStore's index completed to it), may a dedup
    // read be trusted again: every read started before is stale.
    this.gen++;
    this.current = state;
    this.tip = state;
    this.stale = false;
    if (moved) this.opts.onCommitted?.(state, [], false);
  }
}

// answer puts one entry's place in its call's answers, and answers the call once all are in.
function answer(job: Job, slot: number, s: Sequenced): void {
  if (job.settled) return;
  job.results[slot] = s;
  if (--job.left === 0) {
    job.settled = true;
    job.resolve(job.results);
  }
}

// refuse rejects a call (once; a call is answered all or nothing, as Promise.all would).
function refuse(job: Job, err: unknown): void {
  if (job.settled) return;
  job.settled = true;
  job.reject(err);
}
