/**
 * The publisher: one loop that turns the newest integrated checkpoint into the published one,
 * which is what `GET checkpoint` serves and what submitters are answered with. It publishes at
 * most once every intervalMs, and republishes an unchanged tree every republishMs with fresh
 * cosignatures (Ed25519 is deterministic: what changes are the cosignature timestamps). One round
 * at a time, always for the newest integrated checkpoint: there is no other caller of witnessing.
 *
 * Owned by Publisher: the published checkpoint and when it was published, the round in progress
 * (at most one), the next-round timer, and the retry time after a round without the quorum.
 */
import { LogError } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import type { Checkpoint } from '../note/index.ts';
import type { Clock } from './clock.ts';
import { type CommitContext, signCheckpoint } from './sequence.ts';
import type { LogState, Published } from './state.ts';

/** CheckpointWitnessing cosigns a checkpoint (src/witness Witnessing implements it). */
export interface CheckpointWitnessing {
  cosign(
    note: string,
    cp: Checkpoint,
    prove: (size1: number, size2: number) => Promise<Hash[]>,
  ): Promise<{ note: string; quorum: boolean }>;
}

/** PublishTarget is where the publisher reads the integrated state and writes publications. */
export interface PublishTarget {
  readonly state: LogState;
  /** publish durably writes the cosigned checkpoint (Integrator.publish). */
  publish(note: string): Promise<void>;
}

/** PublisherEvents are the publisher's observable moments, for metrics; they must not throw. */
export interface PublisherEvents {
  published?(info: { size: number; at: number; republished: boolean }): void;
  /** withheld: a round ended without the quorum and, failing closed, published nothing. */
  withheld?(size: number): void;
  failed?(code: string): void;
}

/** PublisherOptions configures a publisher. */
export interface PublisherOptions {
  /** intervalMs is the least time between two rounds. */
  readonly intervalMs: number;
  /** republishMs is how long an unchanged published tree stays before it is published again. */
  readonly republishMs: number;
  /** retryMs is how soon a round that failed (no quorum, storage) is tried again. */
  readonly retryMs: number;
  readonly witnessing?: CheckpointWitnessing;
  /** failOpen publishes without the quorum, with the cosignatures gathered. */
  readonly failOpen: boolean;
  /** prove returns consistency proofs over the integrated tree, for the witnesses. */
  readonly prove: (size1: number, size2: number) => Promise<Hash[]>;
  readonly clock: Clock;
  readonly events?: PublisherEvents;
  /** onPublished sees every publication once it is durable (the pool answers submitters). */
  readonly onPublished: (p: Published) => void;
}

/** Publisher runs the publish loop; see above. */
export class Publisher {
  private readonly ctx: CommitContext;
  private readonly target: PublishTarget;
  private readonly opts: PublisherOptions;
  private current: Published;
  private publishedAt: number;
  private lastRound = -Infinity;
  private retryAt = -Infinity;
  private round: Promise<void> | undefined;
  private cancel: (() => void) | undefined;
  private running = false;

  constructor(
    ctx: CommitContext,
    target: PublishTarget,
    published: Published,
    opts: PublisherOptions,
  ) {
    this.ctx = ctx;
    this.target = target;
    this.opts = opts;
    this.current = published;
    this.publishedAt = opts.clock.now();
  }

  /** published is the newest durable publication. */
  get published(): Published {
    return this.current;
  }

  /** lastPublishedAt is when the newest publication was made (or the publisher started). */
  get lastPublishedAt(): number {
    return this.publishedAt;
  }

  /**
   * adopt takes a newer checkpoint that another writer published (S3, several writers) as the
   * published one, and answers the pool with it.
   */
  adopt(p: Published): void {
    if (p.checkpoint.size <= this.current.checkpoint.size) return;
    this.current = p;
    this.publishedAt = this.opts.clock.now();
    this.opts.onPublished(p);
    this.schedule();
  }

  /**
   * committed takes a checkpoint that an integrator commit published itself (sequence.ts step 4,
   * no witnesses and no interval) as the published one, and answers the pool with it.
   */
  committed(p: Published): void {
    if (p.checkpoint.size <= this.current.checkpoint.size) return;
    this.current = p;
    this.publishedAt = this.opts.clock.now();
    this.opts.events?.published?.({
      size: p.checkpoint.size,
      at: this.publishedAt,
      republished: false,
    });
    this.opts.onPublished(p);
    this.schedule();
  }

  /** start runs the loop. */
  start(): void {
    this.running = true;
    this.schedule();
  }

  /** kick tells the loop the integrated state moved: a round runs as soon as the interval allows. */
  kick(): void {
    this.schedule();
  }

  /** stop ends the loop once the round in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancel?.();
    this.cancel = undefined;
    await this.round;
  }

  /** flush runs a round now if the integrated tree is ahead, ignoring the interval (shutdown). */
  async flush(): Promise<void> {
    await this.round;
    const ahead = this.target.state.checkpoint.size > this.current.checkpoint.size;
    if (ahead && this.opts.clock.now() >= this.retryAt) {
      this.cancel?.();
      this.cancel = undefined;
      await this.runRound();
    }
  }

  // dueAt is when the next round should run: as soon as the interval (and a failed round's retry
  // time) allows when the integrated tree is ahead, else when the published one goes stale.
  private dueAt(): number {
    const ahead = this.target.state.checkpoint.size > this.current.checkpoint.size;
    const soonest = Math.max(this.lastRound + this.opts.intervalMs, this.retryAt);
    return ahead ? soonest : Math.max(soonest, this.publishedAt + this.opts.republishMs);
  }

  private schedule(): void {
    if (!this.running || this.round) return;
    this.cancel?.(); // the due time may have moved closer
    const wait = Math.max(0, this.dueAt() - this.opts.clock.now());
    this.cancel = this.opts.clock.after(wait, () => {
      this.cancel = undefined;
      void this.runRound();
    });
  }

  private runRound(): Promise<void> {
    this.round ??= this.publishRound().finally(() => {
      this.round = undefined;
      this.schedule();
    });
    return this.round;
  }

  /**
   * The publish path, one round. It reads top to bottom as its crash argument; nothing in it
   * touches the tree, which the integrator has already made durable.
   */
  private async publishRound(): Promise<void> {
    const now = this.opts.clock.now();
    this.lastRound = now;
    const state = this.target.state;
    const republished = state.checkpoint.size === this.current.checkpoint.size;
    try {
      // 1. Sign the newest integrated checkpoint, with fresh timestamps on the log's own
      //    cosignatures. Nothing is durable yet; dying here changes nothing.
      const signed = await signCheckpoint(this.ctx, state.checkpoint, now);

      // 2. Witness it: one round, each witness asked at most once plus one retry after a 409
      //    (src/witness/ask.ts). Witnesses persist what they cosign; a crash here only means
      //    they have seen a checkpoint we never published, which the next round's 409 reveals.
      const w = this.opts.witnessing;
      const c = w ? await w.cosign(signed, state.checkpoint, this.opts.prove) : null;

      // 3. Without the quorum, failing closed: publish nothing new and answer nobody; the
      //    submitters wait for a later round or their deadline (503). Failing open: go on with
      //    the cosignatures gathered.
      if (c && !c.quorum && !this.opts.failOpen) {
        this.retryAt = now + this.opts.retryMs;
        this.opts.events?.withheld?.(state.checkpoint.size);
        return;
      }
      const note = c ? c.note : signed;

      // 4. Write the cosigned checkpoint as the published `checkpoint` object, through the
      //    integrator, under the lock's compare-and-swap (a deposed sequencer cannot publish),
      //    after the tree it covers. Dying before it is durable: the previous publication stays
      //    served, nobody was answered with this one, and the next round (after a restart too)
      //    publishes the then-newest integrated checkpoint. Dying after: it is served, and the
      //    submitters not yet answered retry and are answered from the dedup index.
      await this.target.publish(note);

      // 5. Only now answer the submitters it covers (the pool), with this very note, unless a
      //    commit published a larger tree meanwhile (sequence.ts step 4), which replaced it.
      if (state.checkpoint.size < this.current.checkpoint.size) return;
      this.current = { note, checkpoint: state.checkpoint };
      this.publishedAt = now;
      this.opts.events?.published?.({ size: state.checkpoint.size, at: now, republished });
      this.opts.onPublished(this.current);
    } catch (err) {
      this.retryAt = now + this.opts.retryMs;
      this.opts.events?.failed?.(err instanceof LogError ? err.code : 'bug');
    }
  }
}
