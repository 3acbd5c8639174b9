/**
 * The sequencer core: one process sequencing a log, as every LevelDB log does (and the instance
 * holding the lease on S3). It wires the three stages together: the pool hands batches to the
 * integrator, the integrator's commits wake the publisher, and the publisher's publications answer
 * the pool. Each stage owns its own state (see its file); this file owns only the wiring and the
 * order of shutdown.
 */
import type { Hash } from '../merkle/index.ts';
import type { Clock } from './clock.ts';
import { Integrator, type IntegratorEvents, type IntegratorOptions } from './integrator.ts';
import { type AddResult, Pool } from './pool.ts';
import { type CheckpointWitnessing, Publisher, type PublisherEvents } from './publisher.ts';
import type { TileReader } from './reader.ts';
import type { CommitContext } from './sequence.ts';
import type { LogState, Published } from './state.ts';

/** CoreOptions are the knobs of the three stages, all resolved to values. */
export interface CoreOptions {
  readonly maxBatch: number;
  readonly maxAgeMs: number;
  readonly maxPending: number;
  readonly deadlineMs: number;
  readonly checkpointIntervalMs: number;
  readonly republishIntervalMs: number;
  readonly retryMs: number;
  readonly witnessing?: CheckpointWitnessing;
  readonly failOpen: boolean;
  readonly clock: Clock;
  readonly events: IntegratorEvents & PublisherEvents & { pushback?(): void };
}

/** SequencerCore is a pool, an integrator and a publisher working one log in one process. */
export class SequencerCore {
  readonly pool: Pool;
  readonly integrator: Integrator;
  readonly publisher: Publisher;

  constructor(
    ctx: CommitContext,
    state: LogState,
    published: Published,
    reader: TileReader,
    opts: CoreOptions,
  ) {
    const stages = integrateAndPublish(ctx, state, published, reader, opts, {
      onPublished: (p) => this.pool.publish(p),
    });
    this.integrator = stages.integrator;
    this.publisher = stages.publisher;
    this.pool = new Pool(this.integrator, published, {
      maxBatch: opts.maxBatch,
      maxAgeMs: opts.maxAgeMs,
      maxPending: opts.maxPending,
      deadlineMs: opts.deadlineMs,
      clock: opts.clock,
      onPushback: opts.events.pushback,
    });
  }

  /** start runs the integrator and the publisher. */
  start(): void {
    this.integrator.start();
    this.publisher.start();
  }

  /** add admits an entry (see Pool.add). */
  add(entry: Uint8Array): Promise<AddResult> {
    return this.pool.add(entry);
  }

  /**
   * close stops admitting, lets everything admitted be committed and (within its deadline)
   * published, then stops the publisher and the integrator.
   */
  async close(): Promise<void> {
    const drained = this.pool.close();
    // Publish what is integrated without waiting out the interval, as often as it takes.
    while (this.pool.pending > 0) {
      await this.publisher.flush();
      await Promise.race([drained, new Promise((r) => setTimeout(r, 5))]);
    }
    await drained;
    await this.publisher.stop();
    await this.integrator.stop();
  }
}

/** StageOptions are what a caller adds to the integrator and publisher integrateAndPublish makes. */
export interface StageOptions extends Pick<IntegratorOptions, 'pipelinePartial' | 'gatherMs'> {
  /** onCommitted sees each durable commit's state, after the reader has its tiles. */
  readonly onCommitted?: (state: LogState) => void;
  readonly onPublished: (p: Published) => void;
}

/**
 * integrateAndPublish makes an integrator on state and a publisher from published, wired: each
 * commit primes reader with its tiles and wakes the publisher. Neither is started.
 */
export function integrateAndPublish(
  ctx: CommitContext,
  state: LogState,
  published: Published,
  reader: TileReader,
  opts: CoreOptions,
  stage: StageOptions,
): { integrator: Integrator; publisher: Publisher } {
  const integrator: Integrator = new Integrator(ctx, state, {
    maxBatch: opts.maxBatch,
    pipelinePartial: stage.pipelinePartial,
    gatherMs: stage.gatherMs,
    clock: opts.clock,
    events: opts.events,
    onCommitted: (s, writes, published) => {
      reader.prime(writes);
      stage.onCommitted?.(s);
      if (published) publisher.committed({ note: s.note, checkpoint: s.checkpoint });
      else publisher.kick();
    },
  });
  const prove = (a: number, b: number): Promise<Hash[]> => reader.proveConsistency(a, b);
  const publisher: Publisher = new Publisher(ctx, integrator, published, {
    intervalMs: opts.checkpointIntervalMs,
    republishMs: opts.republishIntervalMs,
    retryMs: opts.retryMs,
    witnessing: opts.witnessing,
    failOpen: opts.failOpen,
    prove,
    clock: opts.clock,
    events: opts.events,
    onPublished: stage.onPublished,
  });
  return { integrator, publisher };
}
