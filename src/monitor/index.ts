/** Following and checking a tlog-tiles log, and reporting Rekor entries that match watch rules. */
export type { CertFacts, EntrySummary } from './facts.ts';
export { summarize } from './facts.ts';
export type { MonitorMetrics } from './metrics.ts';
export { createMonitorMetrics, serveMetrics } from './metrics.ts';
export type { MonitorEvents, MonitorState } from './monitor.ts';
export {
  loadMonitorState,
  matches,
  monitorStep,
  parseWatchRules,
  saveMonitorState,
} from './monitor.ts';
export type { Notification, OutboxOptions } from './outbox.ts';
export { notificationId, Outbox } from './outbox.ts';
export type { Rule } from './rules.ts';
export { parseMonitorConfig, parseOid } from './rules.ts';
export type { PassResult, RunnerOptions, Target } from './runner.ts';
export { FINISH_GRACE_MS, Runner } from './runner.ts';
export type { Shard } from './shards.ts';
export { discoverShards, readDocument } from './shards.ts';
