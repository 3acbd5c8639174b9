/** Following and checking a tlog-tiles log, and reporting Rekor entries that match watch rules. */
export type { EntrySummary, MonitorEvents, MonitorState, WatchRule } from './monitor.ts';
export {
  loadMonitorState,
  matches,
  monitorStep,
  parseWatchRules,
  saveMonitorState,
  summarize,
} from './monitor.ts';
