/**
 * `tilelog monitor`: follow one log (--url, --vkey) or every Rekor v2 shard of a SigningConfig
 * (--signing-config, --trusted-root, re-read before every pass), verify every checkpoint and
 * entry, and report the entries that the rules match: JSON lines on stdout, a webhook with a
 * durable outbox, Prometheus metrics. Exit 2 is an ALARM (the log is inconsistent).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { LogError } from '../errors.ts';
import {
  createMonitorMetrics,
  discoverShards,
  type MonitorMetrics,
  Outbox,
  parseMonitorConfig,
  parseWatchRules,
  readDocument,
  type Rule,
  Runner,
  serveMetrics,
  type Target,
} from '../monitor/index.ts';
import { parseVerifierKey } from '../note/index.ts';
import { checkAddress, progressBar, VKEY } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

/** monitor follows logs, verifying them, and reports the entries that match the rules. */
export const monitor = defineCommand({
  name: 'monitor',
  summary: 'Follow logs, verify every checkpoint and entry, report those the rules match.',
  flags: [
    { name: 'url', type: 'string', arg: 'PREFIX', help: "one log's URL prefix (with --vkey)" },
    { ...VKEY, env: undefined, multiple: true },
    {
      name: 'signing-config',
      type: 'string',
      arg: 'FILE|URL',
      help: 'a sigstore SigningConfig: follow each Rekor v2 shard in it (with --trusted-root)',
    },
    {
      name: 'trusted-root',
      type: 'string',
      arg: 'FILE|URL',
      help: "the TrustedRoot whose tlogs keys check the shards' checkpoints",
    },
    {
      name: 'config',
      type: 'string',
      arg: 'FILE',
      help: 'watch rules, YAML (rekor-monitor shapes)',
    },
    { name: 'watch', type: 'string', arg: 'FILE', help: 'watch rules, one a line (older form)' },
    {
      name: 'state',
      type: 'string',
      arg: 'DIR',
      default: 'monitor-state',
      help: 'where the monitor keeps its positions and its webhook outbox',
    },
    {
      name: 'from',
      type: 'string',
      choices: ['now', 'start'],
      arg: 'now|start',
      default: 'now',
      help: 'where a new monitor starts (a shard that appears later: at its start)',
    },
    { name: 'once', type: 'boolean', help: 'one pass, then exit' },
    { name: 'interval', type: 'int', arg: 'S', default: 10, help: 'seconds between passes' },
    { name: 'webhook', type: 'string', arg: 'URL', help: 'POST each match and alarm here (JSON)' },
    {
      name: 'webhook-backlog',
      type: 'int',
      arg: 'N',
      default: 10_000,
      help: 'most undelivered notifications; beyond it the monitor waits',
    },
    { name: 'metrics', type: 'string', arg: 'HOST:PORT', help: 'serve Prometheus /metrics here' },
  ],
  notes: [
    'exit 2: ALARM, a log is inconsistent; 1: --once and a pass failed',
    'give --url and --vkey, or --signing-config and --trusted-root',
  ],
  async run(v) {
    if (!v.url === !v.signingConfig) usageError('monitor needs --url or --signing-config');
    if (v.url && v.vkey.length === 0) usageError('monitor --url needs --vkey');
    if (v.signingConfig && !v.trustedRoot) usageError('--signing-config needs --trusted-root');
    if (v.metrics) checkAddress('metrics', v.metrics);
    try {
      return await follow(v, await rulesOf(v.config, v.watch));
    } catch (err) {
      if (err instanceof LogError && (err.code === 'bad_request' || err.code === 'fatal')) {
        console.error(`monitor: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
});

async function rulesOf(config?: string, watch?: string): Promise<Rule[]> {
  const rules = config ? parseMonitorConfig(await readFile(config, 'utf8')) : [];
  if (watch) rules.push(...parseWatchRules(await readFile(watch, 'utf8')));
  return rules;
}

interface Values {
  url?: string;
  vkey: string[];
  signingConfig?: string;
  trustedRoot?: string;
  state: string;
  from: 'now' | 'start';
  once: boolean;
  interval: number;
  webhook?: string;
  webhookBacklog: number;
  metrics?: string;
}

async function follow(v: Values, rules: Rule[]): Promise<number> {
  await mkdir(v.state, { recursive: true });
  const targets = async (): Promise<Target[]> => {
    if (v.url)
      return [{ url: v.url, verifiers: v.vkey.map(parseVerifierKey), file: 'position.json' }];
    const [config, root] = await Promise.all([
      readDocument(v.signingConfig!),
      readDocument(v.trustedRoot!),
    ]);
    return discoverShards(config, root, new Date()).map((s) => ({ ...s, probe: true }));
  };
  const metrics = v.metrics ? createMonitorMetrics() : undefined;
  const server = metrics ? await startMetrics(metrics, v.metrics!) : undefined;
  const outbox = v.webhook
    ? await Outbox.open(join(v.state, 'outbox'), {
        url: v.webhook,
        maxBacklog: v.webhookBacklog,
        onAttempt: (ok, error) => {
          metrics?.delivery(ok);
          if (!ok) console.error(`monitor: ${error} (will retry)`);
        },
        onBacklog: (n) => metrics?.backlog(n),
      })
    : undefined;
  outbox?.start();
  const runner = new Runner({
    stateDir: v.state,
    rules,
    from: v.from,
    ...(outbox ? { outbox } : {}),
    ...(metrics ? { metrics } : {}),
    print: (line) => console.log(line),
    warn: (line) => console.error(line),
    progress: progressBar('monitor'),
  });
  try {
    for (;;) {
      let result: Awaited<ReturnType<Runner['pass']>>;
      try {
        result = await runner.pass(await targets());
      } catch (err) {
        if (err instanceof LogError && err.code === 'fatal') throw err;
        console.error(`monitor: ${err instanceof Error ? err.message : err} (will retry)`);
        result = 'failed';
      }
      if (result === 'alarm') {
        // The alarm is queued durably; give the webhook a moment before exiting.
        await outbox?.drain(10_000);
        return 2;
      }
      if (v.once) {
        await outbox?.drain(30_000);
        return result === 'ok' ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, v.interval * 1000));
    }
  } finally {
    await outbox?.close();
    await server?.close();
  }
}

async function startMetrics(m: MonitorMetrics, listen: string) {
  const i = listen.lastIndexOf(':');
  const s = await serveMetrics(m.registry, listen.slice(0, i), Number(listen.slice(i + 1)));
  console.error(`monitor: metrics at ${s.url}`);
  return s;
}
