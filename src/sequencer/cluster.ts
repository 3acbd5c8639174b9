/**
 * The cluster core: one of several instances serving a log on S3. Every instance is a frontend:
 * it admits entries into its pool and answers them from the published checkpoint. The one that
 * holds the lease (lease.ts) also runs an integrator and a publisher; the others forward their
 * pool's batches to it (forward.ts) and read the published checkpoint from the store.
 *
 * Owned by ClusterCore: which role it plays now (the local integrator and publisher exist only
 * while it holds the lease), as a frontend the newest published checkpoint it knows and the
 * state (right edge) of the one it last caught up to, and the pool both roles feed.
 *
 * Safety does not rest on the lease: the integrator commits through a store that refuses to
 * commit once the lease is no longer held (so commits stop `margin` before anyone may take over),
 * and every commit still compare-and-swaps the lock, so a sequencer that lost its lease (paused,
 * partitioned) fails its next commit with 'conflict' and nothing forks. Entries in flight when
 * the role moves are refused with 'unavailable' by the stopped integrator and sent again to the
 * next holder; dedup (IndexedStore, complete after readLock) keeps them at one index.
 */
import { decodeUtf8, equal, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { EMPTY_ROOT } from '../merkle/index.ts';
import { type NoteVerifier, parseVerifierKey } from '../note/index.ts';
import type { LogStore } from '../storage/index.ts';
import { CHECKPOINT_KEY } from '../storage/index.ts';
import { type CoreOptions, integrateAndPublish } from './core.ts';
import {
  Feeders,
  type ForwardAnswer,
  type ForwardAsk,
  Forwarder,
  type ForwarderEvents,
  keepProofs,
  pendingOf,
  withProofs,
} from './forward.ts';
import { type Lease, LeasedStore } from './lease.ts';
import type { LogCore } from './log.ts';
import { type AddResult, Pool, type Sequenced } from './pool.ts';
import { TileReader } from './reader.ts';
import { type CommitContext, initialCommit, type Pending } from './sequence.ts';
import {
  loadBoth,
  loadPublished,
  loadState,
  loadStateAt,
  type LogState,
  openLock,
  type Published,
} from './state.ts';

/** ClusterOptions are what an instance needs to share a log with others. */
export interface ClusterOptions {
  readonly lease: Lease;
  /** secret authenticates forwarded batches (POST /internal/forward). */
  readonly secret: string;
  readonly forwarderEvents?: ForwarderEvents;
  /** pollMs is how often a frontend reads the published checkpoint while answers wait (100). */
  readonly pollMs?: number;
  /** warn reports a failed takeover or poll (pino); it must not throw. */
  readonly warn?: (what: string, err: unknown) => void;
}

const NO_SECRET = 'sequencer: a frontend without --cluster-secret cannot forward';
// How often an instance checks whether it gained or lost the lease (a local check, no I/O).
const ROLE_MS = 20;

// While a forward is under way a frontend's next batch waits this long (5-8 entries a forward at
// 10 ms); with none, only maxAgeMs: the sequencer's next commit waits for it (gatherMs).
const FORWARD_AGE_MS = 50;

/** ClusterCore is a LogCore that sequences while it holds the lease and forwards otherwise. */
export class ClusterCore implements LogCore {
  readonly reader: TileReader;
  private readonly pool: Pool;
  private readonly forwarder: Forwarder;
  private readonly ctx: CommitContext;
  private readonly store: LogStore;
  private readonly opts: CoreOptions;
  private readonly lease: Lease;
  private readonly warn: ClusterOptions['warn'];
  private readonly secret: string;
  // The log key, parsed once: every forward answer's publication is verified with it.
  private readonly verifier: NoteVerifier;
  private local: ReturnType<typeof integrateAndPublish> | null = null;
  private state: LogState;
  private polled: Published;
  private polledAt: number;
  private switching: Promise<void> = Promise.resolve();
  private switchingTo: boolean | null = null;
  private polling = false;
  private lastPoll = -Infinity;
  private forwardNoteAt = -Infinity;
  private loading = false;
  private lastLoad = -Infinity;
  private readonly pollMs: number;
  private probing = false;
  private readonly feeders: Feeders; // a partial batch waits up to 2 forward ages for frontends
  private timer: ReturnType<typeof setInterval>;

  private constructor(
    ctx: CommitContext,
    state: LogState,
    published: Published,
    opts: CoreOptions,
    cluster: ClusterOptions,
  ) {
    this.store = ctx.store;
    this.lease = cluster.lease;
    this.warn = cluster.warn;
    this.secret = cluster.secret;
    this.ctx = { ...ctx, store: new LeasedStore(ctx.store, cluster.lease) };
    this.verifier = parseVerifierKey(ctx.signer.verifierKey);
    this.opts = opts;
    this.state = state;
    this.polled = published;
    this.polledAt = opts.clock.now();
    this.feeders = new Feeders(2 * FORWARD_AGE_MS, opts.clock);
    const size = () => Math.max(this.integrated.checkpoint.size, this.published.checkpoint.size);
    this.reader = new TileReader(ctx.store, size);
    this.forwarder = new Forwarder({
      // While taking over, this instance's own URL: its endpoint answers 503 until it leads.
      sequencerUrl: () => this.lease.sequencerUrl,
      secret: cluster.secret,
      // Long: a holder that stops is abandoned when the lease moves (forward.ts).
      attemptMs: Math.max(10_000, 4 * this.lease.leaseMs),
      deadlineMs: opts.deadlineMs,
      events: cluster.forwarderEvents,
      proofs: true,
      id: crypto.randomUUID(),
    });
    this.pool = new Pool(this, published, {
      maxBatch: opts.maxBatch,
      maxAgeMs: opts.maxAgeMs,
      batchAgeMs: () =>
        this.role === 'sequencer' || this.forwarder.inFlight === 0
          ? opts.maxAgeMs
          : Math.max(opts.maxAgeMs, FORWARD_AGE_MS),
      maxPending: opts.maxPending,
      deadlineMs: opts.deadlineMs,
      clock: opts.clock,
      onPushback: opts.events.pushback,
    });
    this.pollMs = cluster.pollMs ?? 100;
    this.timer = setInterval(() => this.tick(), ROLE_MS);
  }

  /** open loads the log from the store (creating it if empty) and starts following the lease. */
  static async open(ctx: CommitContext, opts: CoreOptions, cluster: ClusterOptions) {
    const verifier = parseVerifierKey(ctx.signer.verifierKey);
    const state = await loadState(ctx.store, verifier, ctx.origin);
    // An empty bucket: whoever creates the first checkpoint wins the compare-and-swap.
    if (!state) await initialCommit(ctx, EMPTY_ROOT).catch(() => null);
    const loaded = await loadBoth(ctx.store, verifier, ctx.origin);
    return new ClusterCore(ctx, loaded.state, loaded.published, opts, cluster);
  }

  /** role is 'sequencer' only while the lease is held and the integrator runs. */
  get role(): 'sequencer' | 'frontend' {
    return this.local && this.lease.isSequencer() ? 'sequencer' : 'frontend';
  }

  /** sequencing is true while this instance sequences (ForwardTarget). */
  get sequencing(): boolean {
    return this.role === 'sequencer';
  }

  get published(): Published {
    return this.local?.publisher.published ?? this.polled;
  }

  get integrated(): LogState {
    return this.local?.integrator.state ?? this.state;
  }

  get pending(): number {
    return this.pool.pending;
  }

  get stuckForMs(): number {
    return this.pool.stuckForMs;
  }

  /**
   * unhealthy says why this instance cannot take submissions now: the lease object does not
   * parse, or (as a frontend) no sequencer has taken a batch for longer than the lease.
   */
  get unhealthy(): string | null {
    if (!this.lease.info.healthy) return 'the lease object cannot be parsed';
    if (this.unreachable) return 'no sequencer reached for longer than the lease';
    return null;
  }

  private get unreachable(): boolean {
    return this.role === 'frontend' && this.forwarder.unreachableForMs > this.lease.leaseMs;
  }

  get lastPublishedAt(): number {
    return this.local?.publisher.lastPublishedAt ?? this.polledAt;
  }

  /** forwarder reports on forwarding (metrics). */
  get forwarding(): Forwarder {
    return this.forwarder;
  }

  add(entry: Uint8Array): Promise<AddResult> {
    // Entries already admitted keep being forwarded until their deadline; new ones are refused
    // at once (503, Retry-After) rather than left waiting on a sequencer nobody reaches.
    if (this.unreachable)
      return Promise.reject(new LogError('unavailable', `sequencer: ${this.unhealthy!}`));
    return this.pool.add(entry);
  }

  /** sequence is the pool's Sequencer: the local integrator while it leads, else a forward. */
  async sequence(batch: readonly Pending[]): Promise<Sequenced[]> {
    const local = this.local;
    if (local && this.lease.isSequencer()) {
      try {
        return await local.integrator.sequence(batch);
      } catch (err) {
        // Stepped down meanwhile: the batch goes to the next holder.
        if (!(err instanceof LogError && err.code === 'unavailable') || this.lease.isSequencer())
          throw err;
      }
    }
    if (this.secret === '') throw new LogError('unavailable', NO_SECRET);
    const r = await this.forwarder.sequence(batch);
    if (r.note) {
      this.forwardNoteAt = this.opts.clock.now();
      this.adopt(r.note);
    }
    // Its proofs are kept for the answers; if none and uncovered, the next tick polls.
    const { note, checkpoint: cp } = this.polled;
    const kept = r.note === note && keepProofs(batch, r.placed, cp, this.reader, this.warn);
    if (!kept && r.placed.some((p) => p.index >= cp.size)) this.lastPoll = -Infinity;
    return r.placed;
  }

  /** sequenceForwarded serves POST /internal/forward: only the sequencer takes batches. */
  async sequenceForwarded(entries: readonly Uint8Array[], ask: ForwardAsk): Promise<ForwardAnswer> {
    const local = this.local;
    if (!local || !this.lease.isSequencer())
      throw new LogError('unavailable', 'sequencer: this instance is a frontend');
    if (ask.from !== undefined) this.feeders.fed(ask.from);
    const placed = await local.integrator.sequence(pendingOf(entries));
    const { note, checkpoint: cp } = this.published;
    return { placed: ask.proofs ? await withProofs(placed, cp.size, this.reader) : placed, note };
  }

  async refresh(): Promise<void> {
    if (this.local) return this.local.integrator.refresh();
    await this.pollPublished();
    await this.loadIntegrated();
  }

  async close(): Promise<void> {
    const drained = this.pool.close();
    while (this.pool.pending > 0) {
      await this.local?.publisher.flush();
      await Promise.race([drained, new Promise((r) => setTimeout(r, 5))]);
    }
    await drained;
    clearInterval(this.timer);
    await this.switching;
    await this.follow();
  }

  // tick follows the lease (a cheap local check, so a takeover starts within ROLE_MS). As a
  // frontend it reads the published checkpoint every pollMs while placed entries wait for one
  // (else every second), and, on a separate track once a second, catches its state and local
  // dedup index up to the newest publication it knows, so a takeover starts warm.
  private tick(): void {
    const lead = this.lease.isSequencer();
    if (lead !== (this.local !== null)) {
      if (this.switchingTo === lead) return;
      this.switchingTo = lead;
      this.switching = this.switching
        .then(() => (lead ? this.lead() : this.follow()))
        .finally(() => (this.switchingTo = null));
      return;
    }
    if (this.local) return;
    const now = this.opts.clock.now();
    // Forward answers usually carry the covering publication; poll often only while it did not,
    // and not at all while they keep bringing the newest one (forwardNoteAt).
    const every = this.pool.awaiting > 0 ? this.pollMs : 1000;
    const told = this.pool.awaiting === 0 && now - this.forwardNoteAt < 1000;
    if (!this.polling && !told && now - this.lastPoll >= every) {
      this.lastPoll = now;
      this.polling = true;
      void this.pollPublished()
        .catch((err) => this.warn?.('reading the published checkpoint failed', err))
        .finally(() => (this.polling = false));
    }
    if (!this.loading && now - this.lastLoad >= 1000) {
      this.lastLoad = now;
      this.loading = true;
      void this.loadIntegrated()
        .catch((err) => this.warn?.('reading the integrated state failed', err))
        .finally(() => (this.loading = false));
    }
    if (this.unreachable && !this.probing) {
      this.probing = true;
      void this.forwarder.probe().finally(() => (this.probing = false));
    }
  }

  // loadIntegrated follows the published checkpoint, not the lock: every tile of a published
  // size is stored (the checkpoint is written last), while reading the lock finishes the commit
  // in flight (S3 applies its staging object again), which under load had every frontend
  // rewrite the sequencer's objects once a second. The takeover reads the lock (lead()).
  private async loadIntegrated(): Promise<void> {
    const p = this.polled;
    if (p.checkpoint.size <= this.state.checkpoint.size) return;
    await this.store.indexUpTo?.(p.checkpoint.size);
    const state = await loadStateAt(this.store, utf8(p.note), this.verifier, this.ctx.origin);
    if (state.checkpoint.size > this.state.checkpoint.size) this.state = state;
  }

  // pollPublished adopts a newer (or republished) checkpoint and answers what it covers.
  private async pollPublished(): Promise<void> {
    const bytes = await this.store.get(CHECKPOINT_KEY);
    if (bytes) this.adoptBytes(bytes);
  }

  // adopt takes the publication a forward answer carried, as pollPublished takes the stored one:
  // the sequencer publishes only durable checkpoints, whose tiles are in the store. One that
  // does not verify is ignored (the next poll reads the store).
  private adopt(note: string): void {
    try {
      this.adoptBytes(utf8(note));
    } catch (err) {
      this.warn?.('a forward answer carried a bad checkpoint', err);
    }
  }

  private adoptBytes(bytes: Uint8Array): void {
    if (this.local) return;
    // Most answers carry the publication already adopted: no need to verify it again.
    if (decodeUtf8(bytes) === this.polled.note) return;
    const { note, checkpoint } = openLock(bytes, this.verifier, this.ctx.origin);
    if (checkpoint.size < this.polled.checkpoint.size) return;
    this.polled = { note, checkpoint };
    this.polledAt = this.opts.clock.now();
    this.pool.publish(this.polled);
  }

  // lead starts the integrator and the publisher on the state as the store has it now.
  private async lead(): Promise<void> {
    if (this.local || !this.lease.isSequencer()) return;
    try {
      // readLock() also completes the dedup index up to the lock (strong dedup from here on).
      // A frontend keeps its state current by polling, so usually only the lock is read.
      const known = this.state;
      // The published checkpoint first, then the lock, as loadBoth does: read the other way
      // round (or at once), a commit between the two reads leaves the checkpoint ahead of the
      // state this sequencer would start from.
      const seen = await loadPublished(this.store, this.verifier, known).catch(() => null);
      const lock = await this.store.readLock();
      const current = lock && seen && equal(lock, known.lock);
      const { state, published } = current
        ? { state: known, published: seen }
        : await loadBoth(this.store, this.verifier, this.ctx.origin);
      const { integrator, publisher } = integrateAndPublish(
        this.ctx,
        state,
        published,
        this.reader,
        this.opts,
        {
          pipelinePartial: false, // an S3 commit costs its round trips whatever its size
          gatherMs: (since) => this.feeders.gatherMs(since),
          onCommitted: (s) => (this.state = s),
          onPublished: (p) => {
            this.polled = p;
            this.pool.publish(p);
          },
        },
      );
      integrator.start(true); // the state was read through readLock() just above
      publisher.start();
      this.local = { integrator, publisher };
      this.pool.publish(published);
    } catch (err) {
      // Storage trouble while taking over: try again at the next tick if still holding.
      this.warn?.('taking over as sequencer failed', err);
    }
  }

  // follow stops the integrator and the publisher: their queued work is refused 'unavailable'.
  private async follow(): Promise<void> {
    const local = this.local;
    if (!local) return;
    this.local = null;
    this.polled = local.publisher.published;
    this.state = local.integrator.state;
    await local.publisher.stop();
    await local.integrator.stop();
  }
}
