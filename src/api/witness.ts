/**
 * The witness HTTP API (tlog-witness): POST <prefix>/add-checkpoint, POST <prefix>/sign-subtree
 * (when the witness has an ML-DSA-44 key) and the monitoring retrieval
 * GET <prefix>/<origin hash>/checkpoint, whose monitoring prefix is the submission prefix.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type Context, Hono } from 'hono';
import { Counter, Gauge, Registry } from 'prom-client';

import {
  LogList,
  type LogListEvents,
  type Witness,
  type WitnessAnswer,
  type WitnessConfig,
  type WitnessedLog,
} from '../witness/index.ts';
import { type BastionBackend, connectBastion, loadOrCreateBastionKey } from './bastion.ts';
import { readBody } from './body.ts';
import { errorResponse, WITNESS_STATUS } from './errors.ts';

/** MAX_REQUEST is the largest request body accepted: 63 proof lines and a note with many signatures. */
export const MAX_REQUEST = 64 * 1024;

/** WitnessAppOptions: a metrics registry to serve at <prefix>/metrics. */
export interface WitnessAppOptions {
  readonly registry?: Registry;
}

/** createWitnessApp builds the Hono app of a witness. */
export function createWitnessApp(
  witness: Witness,
  prefix = '',
  opts: WitnessAppOptions = {},
): Hono {
  const app = new Hono();
  const answer = (c: Context, r: WitnessAnswer) => {
    c.header('Content-Type', r.contentType);
    return c.body(r.body, WITNESS_STATUS[r.outcome]);
  };
  const decoded = async (c: Context) =>
    new TextDecoder('utf-8', { fatal: false }).decode(await readBody(c, MAX_REQUEST));
  app.post(`${prefix}/add-checkpoint`, async (c) =>
    answer(c, await witness.addCheckpoint(await decoded(c))),
  );
  // sign-subtree is OPTIONAL (tlog-witness): only a witness with an ML-DSA-44 key can sign a
  // subtree, as Ed25519 cosignature/v1 has no subtree form.
  if (witness.signsSubtrees)
    app.post(`${prefix}/sign-subtree`, async (c) =>
      answer(c, await witness.signSubtree(await decoded(c))),
    );
  app.get(`${prefix}/:hash{[0-9a-f]{64}}/checkpoint`, async (c) =>
    answer(c, await witness.checkpoint(c.req.param('hash'))),
  );
  const registry = opts.registry;
  if (registry)
    app.get(`${prefix}/metrics`, async (c) => {
      c.header('Content-Type', registry.contentType);
      return c.body(await registry.metrics());
    });
  app.notFound((c) =>
    c.text(`no such endpoint: ${c.req.method} ${c.req.path.slice(0, 100)}\n`, 404),
  );
  // A body over MAX_REQUEST is a too_large LogError: 413 from the one table, like every LogError.
  app.onError((err, c) => errorResponse(c, err));
  return app;
}

/** WitnessMetrics is the witness's registry and the log-list events that feed it. */
export interface WitnessMetrics {
  readonly registry: Registry;
  readonly logListEvents: LogListEvents;
}

/** WitnessLogger is where log-list changes and failures are logged (a pino logger fits). */
export interface WitnessLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** createWitnessMetrics returns a fresh registry with the witness's log-list metrics. */
export function createWitnessMetrics(logger?: WitnessLogger): WitnessMetrics {
  const registry = new Registry();
  const r = [registry];
  const loads = new Counter({
    name: 'tilelog_witness_log_list_loads_total',
    help: 'Log lists read: ok (a changed list put in force) or error (the previous one kept).',
    labelNames: ['result'],
    registers: r,
  });
  const logs = new Gauge({
    name: 'tilelog_witness_logs',
    help: 'Logs witnessed (config file and log list).',
    registers: r,
  });
  const last = new Gauge({
    name: 'tilelog_witness_log_list_loaded_timestamp_seconds',
    help: 'When the log list now in force was loaded.',
    registers: r,
  });
  loads.inc({ result: 'ok' }, 0);
  loads.inc({ result: 'error' }, 0);
  return {
    registry,
    logListEvents: {
      loaded(info) {
        loads.inc({ result: 'ok' });
        logs.set(info.logs);
        last.set(Date.now() / 1000);
        logger?.info(info, 'witness: log list loaded');
      },
      failed(reason) {
        loads.inc({ result: 'error' });
        logger?.warn({ reason }, 'witness: log list rejected, the previous one stays');
      },
    },
  };
}

/**
 * witnessRuntime builds the witness app with its metrics, starts polling the log list (a
 * bad_request LogError if the first read fails) and dials the bastion, as cfg asks; release stops
 * both (the witness's state is the caller's to close).
 */
export async function witnessRuntime(
  witness: Witness,
  fixed: readonly WitnessedLog[],
  cfg: WitnessConfig,
  logger: WitnessLogger & { info(msg: string): void },
): Promise<{ app: Hono; bastion?: BastionBackend; release(): Promise<void> }> {
  const metrics = createWitnessMetrics(logger);
  const list = cfg.logList
    ? await LogList.open({
        source: cfg.logList,
        witness,
        fixed,
        intervalMs: (cfg.logListInterval ?? 60) * 1000,
        events: metrics.logListEvents,
      })
    : undefined;
  const app = createWitnessApp(witness, cfg.prefix, { registry: metrics.registry });
  const bastion = cfg.bastion
    ? connectBastion({
        bastion: cfg.bastion,
        key: await loadOrCreateBastionKey(cfg.bastionKey ?? join(cfg.data, 'bastion.key')),
        ca: cfg.bastionCa ? await readFile(cfg.bastionCa, 'utf8') : undefined,
        fetch: app.fetch,
        say: (line) => logger.info(line),
      })
    : undefined;
  const release = async () => {
    list?.stop();
    await bastion?.close();
  };
  return { app, bastion, release };
}
