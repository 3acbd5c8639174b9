/** Following and checking a tlog-tiles log, and reporting Rekor entries that match watch rules. */
export type { MonitorMetrics } from './metrics.ts';
export { createMonitorMetrics, serveMetrics } from './metrics.ts';
export { monitorStep, parseWatchRules } from './monitor.ts';
export { Outbox } from './outbox.ts';
export type { Rule } from './rules.ts';
export { parseMonitorConfig } from './rules.ts';
export type { Target } from './runner.ts';
export { Runner } from './runner.ts';
export { discoverShards, readDocument } from './shards.ts';
