/**
 * Prometheus metrics (prom-client), declared in one table: entries, dedup hits, batch sizes,
 * commit latency, pushback, commit failures by class, checkpoint size and age, publications and
 * witness rounds, the role, and on S3 the lease and the batches forwarded to the sequencer.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { ForwarderEvents, LeaseInfo, Log, LogEvents } from '../sequencer/index.ts';
import type { WitnessEvents } from '../witness/index.ts';

/** Metrics is a registry and the log events that feed it. */
export interface Metrics {
  readonly registry: Registry;
  readonly events: LogEvents;
  /** witnessEvents feed the witness round metrics (src/witness Witnessing's events option). */
  readonly witnessEvents: WitnessEvents;
  /** watch adds the gauges read from a running log. */
  watch(log: Log): void;
  /** forwarded counts the batches a frontend forwarded to the sequencer. */
  readonly forwarded: ForwarderEvents;
  /** watchCluster adds the role and the lease as this instance sees it (S3). */
  watchCluster(lease: { readonly info: LeaseInfo }): void;
}

/** createMetrics returns a fresh registry with tilelog's metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const entries = new Counter({
    name: 'tilelog_entries_total',
    help: 'Entries committed to the log.',
    registers: r,
  });
  const dedup = new Counter({
    name: 'tilelog_dedup_hits_total',
    help: 'Submissions answered with an existing index.',
    registers: r,
  });
  const batch = new Histogram({
    name: 'tilelog_batch_size',
    help: 'Entries per commit.',
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384],
    registers: r,
  });
  const latency = new Histogram({
    name: 'tilelog_commit_seconds',
    help: 'Time from sequencing a batch to its durable commit.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: r,
  });
  const pushback = new Counter({
    name: 'tilelog_pushback_total',
    help: 'Submissions refused with 503 because too many were pending.',
    registers: r,
  });
  const failures = new Counter({
    name: 'tilelog_commit_failures_total',
    help: 'Commits that failed, by error class (storage errors are "unavailable").',
    labelNames: ['code'],
    registers: r,
  });
  const publications = new Counter({
    name: 'tilelog_publications_total',
    help: 'Checkpoints published, new trees and republications of an unchanged one.',
    labelNames: ['kind'],
    registers: r,
  });
  const withheld = new Counter({
    name: 'tilelog_publications_withheld_total',
    help: 'Witness rounds without the quorum that published nothing (failing closed).',
    registers: r,
  });
  const rounds = new Histogram({
    name: 'tilelog_witness_round_seconds',
    help: 'Duration of a witness round, by whether it reached the quorum.',
    labelNames: ['quorum'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: r,
  });
  const witnessFailures = new Counter({
    name: 'tilelog_witness_failures_total',
    help: 'Rounds in which a witness gave no cosignature, by witness and reason.',
    labelNames: ['witness', 'reason'],
    registers: r,
  });
  const witnessEvents: WitnessEvents = {
    round: ({ ms, quorum }) => rounds.observe({ quorum: String(quorum) }, ms / 1000),
    failed: (witness, reason) => witnessFailures.inc({ witness, reason }),
  };
  let lastCommit = Date.now();
  const events: LogEvents = {
    committed({ entries: n, fresh, ms }) {
      entries.inc(fresh);
      dedup.inc(n - fresh);
      batch.observe(n);
      latency.observe(ms / 1000);
      lastCommit = Date.now();
    },
    published: ({ republished }) => publications.inc({ kind: republished ? 'republish' : 'new' }),
    withheld: () => withheld.inc(),
    pushback: () => pushback.inc(),
    failed: (code) => failures.inc({ code }),
  };
  const forwardedBatches = new Counter({
    name: 'tilelog_forwarded_batches_total',
    help: 'Batches this frontend forwarded to the sequencer, by outcome.',
    labelNames: ['outcome'],
    registers: r,
  });
  return {
    registry,
    events,
    witnessEvents,
    forwarded: {
      forwarded: () => forwardedBatches.inc({ outcome: 'sequenced' }),
      retried: () => forwardedBatches.inc({ outcome: 'retried' }),
    },
    watchCluster: (lease) => watchLease(r, lease),
    watch(log) {
      new Gauge({
        name: 'tilelog_checkpoint_size',
        help: 'Tree size of the published checkpoint.',
        registers: r,
        collect() {
          this.set(log.state.checkpoint.size);
        },
      });
      new Gauge({
        name: 'tilelog_checkpoint_age_seconds',
        help: 'Seconds since the last commit.',
        registers: r,
        collect() {
          this.set((Date.now() - lastCommit) / 1000);
        },
      });
      new Gauge({
        name: 'tilelog_last_publication_timestamp_seconds',
        help: 'When the published checkpoint was last published (Unix time).',
        registers: r,
        collect() {
          this.set(log.lastPublishedAt / 1000);
        },
      });
      new Gauge({
        name: 'tilelog_role',
        help: 'What this instance does for the log (sequencer, frontend, mirror): 1 for its role.',
        labelNames: ['role'],
        registers: r,
        collect() {
          for (const role of ['sequencer', 'frontend', 'mirror'] as const)
            this.set({ role }, log.role === role ? 1 : 0);
        },
      });
      new Gauge({
        name: 'tilelog_pending_entries',
        help: 'Entries accepted but not yet committed.',
        registers: r,
        collect() {
          this.set(log.pending);
        },
      });
    },
  };
}

// The lease as this instance sees it, read when scraped.
function watchLease(r: Registry[], lease: { readonly info: LeaseInfo }): void {
  new Gauge({
    name: 'tilelog_lease_holder',
    help: 'The sequencer lease holder as this instance last saw it (value 1).',
    labelNames: ['holder', 'url'],
    registers: r,
    collect() {
      this.reset();
      const { holder, url } = lease.info;
      if (holder) this.set({ holder, url: url ?? '' }, 1);
    },
  });
  new Gauge({
    name: 'tilelog_lease_age_seconds',
    help: 'Time since the lease holder last renewed, as far as this instance knows.',
    registers: r,
    collect() {
      this.set((lease.info.ageMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'tilelog_lease_healthy',
    help: '0 while the lease object cannot be parsed (the instance stays a frontend).',
    registers: r,
    collect() {
      this.set(lease.info.healthy ? 1 : 0);
    },
  });
}
