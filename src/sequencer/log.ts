/**
 * Log: what the API serves. A façade over a LogCore: the sequencer core (pool → integrator →
 * publisher, core.ts) for a log this process sequences, or a read-only core for a mirror
 * (mirror.ts), which has no signer at all. Reads always go through the TileReader over the store.
 *
 * Owned by Log: nothing but the choice of core, fixed at open.
 */
import { concat, equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { EMPTY_ROOT } from '../merkle/index.ts';
import type { Cosigner, Signer } from '../note/index.ts';
import { ALG_ED25519, keyId, parseVerifierKey } from '../note/index.ts';
import type { LogStore } from '../storage/index.ts';
import { type Clock, systemClock } from './clock.ts';
import { ClusterCore, type ClusterOptions } from './cluster.ts';
import { type CoreOptions, SequencerCore } from './core.ts';
import type { IntegratorEvents } from './integrator.ts';
import { MirrorCore } from './mirror.ts';
import type { AddResult } from './pool.ts';
import type { CheckpointWitnessing, PublisherEvents } from './publisher.ts';
import { TileReader } from './reader.ts';
import { type CommitContext, FROZEN_PREFIX, initialCommit } from './sequence.ts';
import { loadPublished, loadState, type LogState, type Published } from './state.ts';

/** FROZEN_MESSAGE is rekor-tiles' answer to a write on a frozen log. */
export const FROZEN_MESSAGE = 'This log has been frozen, please switch to the latest log.';

/** DEFAULT_MAX_BATCH is LogOptions.maxBatch's default, and serve --max-batch's. */
export const DEFAULT_MAX_BATCH = 4096;
/** DEFAULT_MAX_AGE_MS is LogOptions.maxAgeMs's default, and serve --max-age-ms's. */
export const DEFAULT_MAX_AGE_MS = 10;
/** DEFAULT_MAX_PENDING is LogOptions.maxPending's default, and serve --max-pending's. */
export const DEFAULT_MAX_PENDING = 100_000;
/** DEFAULT_REPUBLISH_MS is LogOptions.republishIntervalMs's default, and serve's. */
export const DEFAULT_REPUBLISH_MS = 600_000;

/** LogOptions configures a log this process sequences. */
export interface LogOptions {
  readonly origin: string;
  readonly signer: Signer;
  /** maxBatch is the most entries one commit sequences (default DEFAULT_MAX_BATCH). */
  readonly maxBatch?: number;
  /** maxAgeMs is how long the oldest pending entry may wait for its batch (DEFAULT_MAX_AGE_MS). */
  readonly maxAgeMs?: number;
  /** maxPending is how many entries may wait before add() pushes back (DEFAULT_MAX_PENDING). */
  readonly maxPending?: number;
  /** keepPartials keeps superseded partial tiles in storage (default false: they are derived). */
  readonly keepPartials?: boolean;
  /** cosigners add the log's own cosignatures to every checkpoint (e.g. ML-DSA-44). */
  readonly cosigners?: readonly Cosigner[];
  /** witnessing collects witness cosignatures for each checkpoint before it is published. */
  readonly witnessing?: CheckpointWitnessing;
  /** failOpen publishes even when the witness quorum is not reached (as rekor-tiles can). */
  readonly failOpen?: boolean;
  /**
   * checkpointIntervalMs is the least time between two publications (default 0 without
   * witnessing, 1,000 with it).
   */
  readonly checkpointIntervalMs?: number;
  /** republishIntervalMs republishes an unchanged tree with fresh cosignatures. */
  readonly republishIntervalMs?: number;
  /** deadlineMs is how long a submitter waits for a covering checkpoint before 503 (30,000). */
  readonly deadlineMs?: number;
  /** retryMs is how soon a round without the quorum (or a failed write) is retried (1,000). */
  readonly retryMs?: number;
  /** clock is injected by tests (default: the system clock). */
  readonly clock?: Clock;
  /** events observe the log (metrics); they must not throw. */
  readonly events?: LogEvents;
}

/** LogEvents are the sequencer's observable moments, for metrics and logs. */
export interface LogEvents extends IntegratorEvents, PublisherEvents {
  pushback?(): void;
}

/** Role is what this instance does for the log (healthz, metrics). */
export type Role = 'sequencer' | 'frontend' | 'mirror';

/**
 * LogCore serves one log: admission (or refusal) of entries, the published checkpoint, and reads.
 * A frontend that forwards to a remote sequencer implements it too.
 */
export interface LogCore {
  readonly role: Role;
  readonly reader: TileReader;
  /** published is the checkpoint clients are served and answered with. */
  readonly published: Published;
  /** integrated is the committed state (the lock): at or ahead of the published checkpoint. */
  readonly integrated: LogState;
  /** pending is the number of entries admitted and not yet answered. */
  readonly pending: number;
  /** stuckForMs is how long the oldest admitted entry has waited with no publication since. */
  readonly stuckForMs: number;
  /** lastPublishedAt is when this instance last saw a publication (ms since the epoch). */
  readonly lastPublishedAt: number;
  /** unhealthy says why submissions cannot succeed now (healthz fails); null or absent if they can. */
  readonly unhealthy?: string | null;
  add(entry: Uint8Array): Promise<AddResult>;
  /** refresh adopts what other writers committed (S3); a no-op where nobody else writes. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** Log sequences entries into a tiled tree in a store (or mirrors one) and serves reads of it. */
export class Log {
  readonly core: LogCore;
  /**
   * logKeyId is the full 32-byte C2SP key ID of the log's signing key, SHA-256(name ‖ 0x0A ‖
   * 0x01 ‖ public key): what Rekor v2 publishes as logId and checkpointKeyId. Computed once.
   */
  readonly logKeyId: Uint8Array;
  private closed = false;

  /** The constructor wraps a core; use open() or openReadOnly(). */
  constructor(core: LogCore, verifierKey: string) {
    this.core = core;
    const v = parseVerifierKey(verifierKey);
    this.logKeyId = keyId(v.name, concat(Uint8Array.of(ALG_ED25519), v.publicKey));
  }

  /** open loads (or, for an empty store, creates) the log in store and verifies its right edge. */
  static async open(store: LogStore, opts: LogOptions): Promise<Log> {
    const ctx: CommitContext = {
      store,
      signer: opts.signer,
      origin: opts.origin,
      keepPartials: opts.keepPartials ?? false,
      cosigners: opts.cosigners ?? [],
      publishOnCommit: publishOnCommit(opts),
    };
    const verifier = parseVerifierKey(opts.signer.verifierKey);
    const state =
      (await loadState(store, verifier, opts.origin)) ?? (await initialCommit(ctx, EMPTY_ROOT));
    // The reader is bounded by the integrated tree (the tiles it finds are those of that size);
    // the API bounds what it serves by the published checkpoint.
    let integrated = () => state.checkpoint.size;
    const reader = new TileReader(store, () => integrated());
    const published = await loadPublished(store, verifier, state);
    if (published.checkpoint.size > 0) {
      const root = await reader.treeHash(published.checkpoint.size);
      if (!equal(root, published.checkpoint.root))
        throw new LogError('corrupt', 'sequencer: the published checkpoint is not of this tree');
    }
    const core = new SequencerCore(ctx, state, published, reader, coreOptions(opts));
    integrated = () => core.integrator.state.checkpoint.size;
    const reload = () => loadPublished(store, verifier, core.integrator.state);
    const log = new Log(new LocalCore(core, reader, reload, opts.signer), opts.signer.verifierKey);
    if (!log.frozen) core.start();
    return log;
  }

  /**
   * openCluster opens one of several instances sharing a log on S3 (cluster.ts): it sequences
   * while it holds the lease and forwards its entries to the holder otherwise.
   */
  static async openCluster(
    store: LogStore,
    opts: LogOptions,
    cluster: ClusterOptions,
  ): Promise<{ log: Log; core: ClusterCore }> {
    const ctx: CommitContext = {
      store,
      signer: opts.signer,
      origin: opts.origin,
      keepPartials: opts.keepPartials ?? false,
      cosigners: opts.cosigners ?? [],
      publishOnCommit: publishOnCommit(opts),
    };
    const core = await ClusterCore.open(ctx, coreOptions(opts), cluster);
    return { log: new Log(core, opts.signer.verifierKey), core };
  }

  /**
   * openReadOnly opens a log whose signing key this process does not have (a mirror): it serves
   * reads and proofs, verifies the lock with the log's verifier key, and refuses writes.
   */
  static async openReadOnly(
    store: LogStore,
    opts: { origin: string; verifierKey: string },
  ): Promise<Log> {
    return new Log(await MirrorCore.open(store, opts), opts.verifierKey);
  }

  /** reader serves tiles and proofs. */
  get reader(): TileReader {
    return this.core.reader;
  }

  /** state is the published checkpoint: what `GET checkpoint` serves and answers carry. */
  get state(): Published {
    return this.core.published;
  }

  /** integrated is the last committed state: the lock, at or ahead of the published one. */
  get integrated(): LogState {
    return this.core.integrated;
  }

  /** role is what this instance does for the log. */
  get role(): Role {
    return this.core.role;
  }

  /** frozen reports whether the log is read-only: a mirror, or its checkpoint carries the freeze line. */
  get frozen(): boolean {
    return (
      this.core.role === 'mirror' ||
      this.core.published.checkpoint.extensions.some((e) => e.startsWith(FROZEN_PREFIX))
    );
  }

  /** stuckForMs: see LogCore. The health check fails when it grows past a few intervals. */
  get stuckForMs(): number {
    return this.core.stuckForMs;
  }

  /** pending is the number of entries accepted but not yet answered. */
  get pending(): number {
    return this.core.pending;
  }

  /** unhealthy: see LogCore. */
  get unhealthy(): string | null {
    return this.core.unhealthy ?? null;
  }

  /** lastPublishedAt: see LogCore. */
  get lastPublishedAt(): number {
    return this.core.lastPublishedAt;
  }

  /**
   * add submits an entry and resolves once a published checkpoint contains it, with that
   * checkpoint. Identical bytes resolve to the index they already have. The log keeps entry: do
   * not modify it after.
   */
  add(entry: Uint8Array): Promise<AddResult> {
    if (this.frozen) return Promise.reject(new LogError('frozen', FROZEN_MESSAGE));
    return this.core.add(entry);
  }

  /** refresh: see LogCore. */
  refresh(): Promise<void> {
    return this.closed ? Promise.resolve() : this.core.refresh();
  }

  /** close stops accepting entries and waits until everything pending is answered. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.core.close();
  }

  /** freeze commits the final, frozen checkpoint; the log accepts no entries afterwards. */
  async freeze(now = new Date()): Promise<void> {
    if (!(this.core instanceof LocalCore))
      throw new LogError('frozen', 'sequencer: only the sequencing instance can freeze a log');
    await this.close();
    if (!this.frozen) await this.core.freeze(now);
  }
}

// Without witnesses and with no checkpoint interval, every commit publishes its own checkpoint
// (sequence.ts step 4): one durable write per acknowledgement instead of two.
function publishOnCommit(opts: LogOptions): boolean {
  return !opts.witnessing && (opts.checkpointIntervalMs ?? 0) === 0;
}

// coreOptions resolves a log's options to the stages' knobs, defaults filled in.
function coreOptions(opts: LogOptions): CoreOptions {
  return {
    maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH,
    maxAgeMs: opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
    maxPending: opts.maxPending ?? DEFAULT_MAX_PENDING,
    deadlineMs: opts.deadlineMs ?? 30_000,
    checkpointIntervalMs: opts.checkpointIntervalMs ?? (opts.witnessing ? 1000 : 0),
    republishIntervalMs: opts.republishIntervalMs ?? DEFAULT_REPUBLISH_MS,
    retryMs: opts.retryMs ?? 1000,
    witnessing: opts.witnessing,
    failOpen: opts.failOpen ?? false,
    clock: opts.clock ?? systemClock,
    events: opts.events ?? {},
  };
}

// The core of a log this process sequences (LevelDB, or S3 with a single writer).
class LocalCore implements LogCore {
  readonly role = 'sequencer';
  readonly reader: TileReader;
  private readonly core: SequencerCore;
  private readonly reload: () => Promise<Published>;
  private frozenAs: Published | undefined;
  private readonly signer: Signer;

  constructor(
    core: SequencerCore,
    reader: TileReader,
    reload: () => Promise<Published>,
    signer: Signer,
  ) {
    this.core = core;
    this.reader = reader;
    this.reload = reload;
    this.signer = signer;
  }

  // A signer that failed for good (pkcs11/key.ts) commits nothing more: fail the health check.
  get unhealthy(): string | null {
    return this.signer.failure ?? null;
  }

  get published(): Published {
    return this.frozenAs ?? this.core.publisher.published;
  }

  get integrated(): LogState {
    return this.core.integrator.state;
  }

  get pending(): number {
    return this.core.pool.pending;
  }

  get stuckForMs(): number {
    return this.core.pool.stuckForMs;
  }

  get lastPublishedAt(): number {
    return this.core.publisher.lastPublishedAt;
  }

  add(entry: Uint8Array): Promise<AddResult> {
    return this.core.add(entry);
  }

  // Another writer may have integrated and published (S3 without a lease): adopt both.
  async refresh(): Promise<void> {
    await this.core.integrator.refresh();
    this.core.publisher.adopt(await this.reload());
  }

  close(): Promise<void> {
    return this.core.close();
  }

  // The frozen checkpoint is committed as lock and published checkpoint in one write.
  async freeze(now: Date): Promise<void> {
    const s = await this.core.integrator.freeze(now);
    this.frozenAs = { note: s.note, checkpoint: s.checkpoint };
  }
}
