/**
 * The monitor's Prometheus metrics (prom-client), in one table, served at /metrics on their own
 * listener: entries read, matches and alarms, the lag behind each log, and the webhook backlog
 * and deliveries.
 */
import { createServer } from 'node:http';

import { Counter, Gauge, Registry } from 'prom-client';

/** MonitorMetrics is a registry and the updates the runner makes. */
export interface MonitorMetrics {
  readonly registry: Registry;
  read(log: string, entries: number): void;
  matched(log: string, rule: string): void;
  alarm(log: string): void;
  lag(log: string, entries: number): void;
  backlog(queued: number): void;
  delivery(ok: boolean): void;
}

/** createMonitorMetrics returns a fresh registry with the monitor's metrics. */
export function createMonitorMetrics(): MonitorMetrics {
  const registry = new Registry();
  const registers = [registry];
  const read = new Counter({
    name: 'tilelog_monitor_entries_read_total',
    help: 'Entries read and checked against a verified checkpoint.',
    labelNames: ['log'],
    registers,
  });
  const matches = new Counter({
    name: 'tilelog_monitor_matches_total',
    help: 'Entries that matched a watch rule, by rule.',
    labelNames: ['log', 'rule'],
    registers,
  });
  const alarms = new Counter({
    name: 'tilelog_monitor_alarms_total',
    help: 'Inconsistencies found: split views, shrinking logs, entries not hashing to the root.',
    labelNames: ['log'],
    registers,
  });
  const lag = new Gauge({
    name: 'tilelog_monitor_lag_entries',
    help: "Entries in the log's latest checkpoint not yet read.",
    labelNames: ['log'],
    registers,
  });
  const backlog = new Gauge({
    name: 'tilelog_monitor_webhook_backlog',
    help: 'Notifications queued for the webhook and not yet delivered.',
    registers,
  });
  const deliveries = new Counter({
    name: 'tilelog_monitor_webhook_deliveries_total',
    help: 'Webhook POSTs, by result (ok, failed).',
    labelNames: ['result'],
    registers,
  });
  for (const result of ['ok', 'failed']) deliveries.inc({ result }, 0);
  backlog.set(0);
  return {
    registry,
    read: (log, n) => read.inc({ log }, n),
    matched: (log, rule) => matches.inc({ log, rule }),
    alarm: (log) => alarms.inc({ log }),
    lag: (log, n) => lag.set({ log }, n),
    backlog: (n) => backlog.set(n),
    delivery: (ok) => deliveries.inc({ result: ok ? 'ok' : 'failed' }),
  };
}

/** serveMetrics serves registry at http://host:port/metrics; it resolves with the URL. */
export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      () => res.writeHead(500).end('metrics failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  const p = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${p}/metrics`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
