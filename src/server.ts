/**
 * The composition root for the long-running commands: the log, its read-only mirror and the
 * witness each open their state, build their app and go through one lifecycle: listen, run until
 * SIGTERM or SIGINT, stop accepting, drain, close. Nothing happens at import time.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { pino } from 'pino';

import {
  admitOptions,
  createApp,
  createMetrics,
  type ExplorerConfig,
  type IndexRoutes,
  listen,
  normalizePrefix,
  type Personality,
  postForward,
  setErrorLogger,
  settlePersonality,
  witnessRuntime,
} from './api/index.ts';
import { TlogClient } from './client/index.ts';
import { clusterOf } from './cluster.ts';
import {
  loadOrCreateDevKey,
  openStateMap,
  openStore,
  readCosignerKeys,
  readSignerKey,
  type StoreConfig,
} from './config.ts';
import { AdmissionPool, type KeyDetails } from './entries/index.ts';
import { LogError } from './errors.ts';
import { startGrpcServer } from './grpc/index.ts';
import { pushToMirrors } from './mirror/index.ts';
import { parseVerifierKey, type Signer } from './note/index.ts';
import { FORWARD_PATH, Log, type LogOptions } from './sequencer/index.ts';
import { IndexedStore } from './storage/index.ts';
import { Indexer, MAP_LEVELDB } from './vindex/index.ts';
import {
  parsePolicy,
  parseWitnessConfig,
  Witness,
  type WitnessConfig,
  Witnessing,
} from './witness/index.ts';

export type { WitnessConfig } from './witness/index.ts';

/** ServeConfig is everything `tilelog serve` needs; the names are its flags' (src/cli/log.ts). */
export interface ServeConfig extends StoreConfig {
  /** key is the signer key file; when absent, a dev key is made in data (or reused). */
  readonly key?: string;
  /** origin is the checkpoint origin; default: the key's name. */
  readonly origin?: string;
  /** listen is HOST:PORT; port 0 picks a free one (Running.url tells which). */
  readonly listen: string;
  readonly prefix: string;
  readonly maxBatch?: number;
  readonly maxAgeMs?: number;
  readonly maxPending?: number;
  readonly allowedKeyDetails?: readonly KeyDetails[];
  readonly acceptDsse?: boolean;
  /** admissionWorkers is the number of Rekor admission threads (default: cores less one). */
  readonly admissionWorkers?: number;
  /** personality names the write API a new log gets; an existing log must have this one. */
  readonly personality?: Personality;
  /** grpcListen is HOST:PORT for the gRPC server (CreateEntry and health); none when absent. */
  readonly grpcListen?: string;
  /** witnessPolicy is a C2SP tlog-policy file: the witnesses to ask for each checkpoint. */
  readonly witnessPolicy?: string;
  readonly witnessTimeoutMs?: number;
  readonly witnessFailOpen?: boolean;
  /** checkpointIntervalMs: least time between publications (default 0; 1,000 with a policy). */
  readonly checkpointIntervalMs?: number;
  /** republishIntervalMs: an unchanged tree is published again this often (default 600,000). */
  readonly republishIntervalMs?: number;
  readonly submitDeadlineMs?: number; // then a submitter not answered gets 503 (30,000)
  /** mirrorOf is the verifier key of a log this store mirrors: serve it read-only, with no signing key. */
  readonly mirrorOf?: string;
  /** mirrorPolicy is a tlog-policy file naming mirrors (tlog-mirror) to push publications to. */
  readonly mirrorPolicy?: string;
  /** mldsaKey holds an ML-DSA-44 cosigner secret key: the log cosigns each checkpoint with it. */
  readonly mldsaKey?: string;
  /** index runs the verifiable index of this log in-process, served under PREFIX/index. */
  readonly index?: boolean;
  /** indexKey is the index's signer key file; when absent, a dev key is made in DATA/index. */
  readonly indexKey?: string;
  /** leaseMs is how long the sequencer lease lasts on S3 (default 5,000). */
  readonly leaseMs?: number;
  /** clusterSecret authenticates forwarded entries between instances on S3. */
  readonly clusterSecret?: string;
  /** advertiseUrl is where the other instances reach this one (default: the listen address). */
  readonly advertiseUrl?: string;
  /** say prints the human-readable start-up lines (default: stdout). */
  readonly say?: (line: string) => void;
}

/** Running is a started server. */
export interface Running {
  readonly url: string;
  /** close stops accepting, answers the requests in flight, drains and closes the state. */
  close(): Promise<void>;
}

/** RunningLog is a started log server (or mirror). */
export interface RunningLog extends Running {
  readonly log: Log;
  readonly verifierKey: string;
}

/** parseListen splits HOST:PORT ([V6ADDR]:PORT for IPv6). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):([0-9]{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new LogError('bad_request', `listen ${s} is not HOST:PORT`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

// The one lifecycle: listen, and on close stop accepting, wait for the answers, then release.
async function start(
  fetch: (req: Request) => Response | Promise<Response>,
  where: string,
  prefix: string,
  release: () => Promise<void>,
): Promise<Running> {
  const { host, port } = parseListen(where);
  const listener = await listen(fetch, host, port, prefix);
  return {
    url: listener.url,
    async close() {
      await listener.close();
      await release();
    },
  };
}

/** startServer opens the store, recovers the log (or opens the mirror) and starts listening. */
export async function startServer(cfg: ServeConfig): Promise<RunningLog> {
  const say = cfg.say ?? ((l: string) => console.log(l));
  // Structured logs (JSON lines on stderr); the human-readable start-up lines stay on stdout.
  const logger = pino({ name: 'tilelog' }, pino.destination(2));
  setErrorLogger((err) => logger.error({ err }, 'request failed'));
  const prefix = normalizePrefix(cfg.prefix);
  if (cfg.mirrorOf) return startMirror(cfg, cfg.mirrorOf, prefix, say);
  const signer = await serverKey(cfg, say, (why) =>
    logger.warn({ why }, 'signing failed; retrying'),
  );
  await mkdir(cfg.data, { recursive: true });
  const store = await openStore(cfg);
  const metrics = createMetrics();
  const cosigners = cfg.mldsaKey ? await readCosignerKeys(cfg.mldsaKey) : [];
  const opts: LogOptions = {
    origin: cfg.origin ?? signer.name,
    signer,
    maxBatch: cfg.maxBatch,
    maxAgeMs: cfg.maxAgeMs,
    maxPending: cfg.maxPending,
    // A bucket is served as it is, so it must hold the partial tiles of every published size
    // (tlog-tiles); tilelog's own read path cuts them from the current tile instead.
    keepPartials: cfg.storage !== undefined,
    cosigners,
    witnessing: cfg.witnessPolicy
      ? new Witnessing({
          policy: parsePolicy(await readFile(cfg.witnessPolicy, 'utf8')),
          timeoutMs: cfg.witnessTimeoutMs,
          events: metrics.witnessEvents,
        })
      : undefined,
    failOpen: cfg.witnessFailOpen,
    checkpointIntervalMs: cfg.checkpointIntervalMs,
    republishIntervalMs: cfg.republishIntervalMs,
    deadlineMs: cfg.submitDeadlineMs,
    events: {
      ...metrics.events,
      failed(code) {
        metrics.events.failed?.(code);
        logger.warn(
          { code },
          'commit failed; the batch was refused and the state will be reloaded',
        );
      },
    },
  };
  // On S3 every instance is a frontend and the lease holder also sequences (src/sequencer/cluster.ts).
  const cluster =
    store instanceof IndexedStore ? clusterOf(store, cfg, logger, metrics.forwarded) : undefined;
  const { log, core } = cluster
    ? await Log.openCluster(store, opts, cluster)
    : { log: await Log.open(store, opts), core: undefined };
  const personality = await settlePersonality(store, log, cfg.personality).catch(async (err) => {
    await log.close();
    await store.close();
    throw err;
  });
  metrics.watch(log);
  if (cluster) metrics.watchCluster(cluster.lease);
  const api = { allowedKeyDetails: cfg.allowedKeyDetails, acceptDsse: cfg.acceptDsse, personality };
  // The index reads the log through the app itself, as any client would, so it is made first.
  const index = cfg.index
    ? await startIndex(cfg, log, prefix, signer.verifierKey, (r) => app.fetch(r), logger)
    : undefined;
  const explorer = {
    ...explorerConfig(prefix, signer.verifierKey, index),
    witnesses: cosigners.map((c) => c.verifierKey),
  };
  // Rekor admission (signature verification above all) on the other cores.
  const admission =
    personality === 'rekor'
      ? new AdmissionPool(admitOptions(api), { size: cfg.admissionWorkers })
      : undefined;
  const app = createApp(log, {
    prefix,
    metrics,
    ...api,
    admission,
    index: index?.routes,
    explorer,
  });
  index?.start();
  const pushing = cfg.mirrorPolicy
    ? pushToMirrors(parsePolicy(await readFile(cfg.mirrorPolicy, 'utf8')), log, logger)
    : undefined;
  if (core) app.post(FORWARD_PATH, (c) => postForward(c, core, cfg.clusterSecret ?? ''));
  const grpc = cfg.grpcListen
    ? await startGrpcServer(log, { ...parseListen(cfg.grpcListen), ...api, admission })
    : undefined;
  const running = await start(app.fetch, cfg.listen, prefix, async () => {
    await grpc?.close();
    await pushing?.stop();
    await index?.close();
    await admission?.close();
    await log.close();
    await cluster?.lease.stop();
    logger.info({ size: log.state.checkpoint.size }, 'stopped after draining pending entries');
    await store.close();
  });
  if (cluster && !cfg.clusterSecret)
    logger.warn('no --cluster-secret: while another instance sequences, this one refuses writes');
  cluster?.lease.advertise(cfg.advertiseUrl ?? new URL(running.url).origin);
  cluster?.lease.start();
  const { origin, size } = log.state.checkpoint;
  say(`verifier key: ${signer.verifierKey}`);
  logger.info({ origin, size, url: running.url, storage: cfg.storage ?? 'leveldb' }, 'serving');
  say(
    `log ${origin} (${personality}) at size ${size}${log.frozen ? ' (frozen: read-only)' : ''}, serving ${running.url}`,
  );
  if (grpc) say(`gRPC (Rekor CreateEntry, grpc.health.v1) on ${grpc.address}`);
  if (index) say(`index verifier key: ${index.vkey}; lookups at ${running.url}/index/lookup`);
  say(`explorer at ${running.url.slice(0, running.url.length - prefix.length)}/`);
  return { ...running, log, verifierKey: signer.verifierKey };
}

// The log's signer: the key file, or a dev key in the data directory.
async function serverKey(
  cfg: ServeConfig,
  say: (l: string) => void,
  onRetry: (why: string) => void,
): Promise<Signer> {
  // A PKCS#11 key is named by the origin; a token that goes away is waited for (onRetry).
  if (cfg.key) return readSignerKey(cfg.key, cfg.origin, { onRetry });
  // Rekor v2 names a log by its host (its TrustedRoot baseUrl without the scheme), and sigstore
  // clients require the key name to appear in that baseUrl, so the dev key is named host:port.
  const { host, port } = parseListen(cfg.listen);
  const devOrigin = cfg.origin ?? `${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
  const dev = await loadOrCreateDevKey(cfg.data, devOrigin);
  say(`${dev.created ? 'generated' : 'using'} dev key ${join(cfg.data, 'log.key')}`);
  return dev.signer;
}

// A mirror: the store holds a copy of another log (tilelog mirror); serve it read-only.
async function startMirror(
  cfg: ServeConfig,
  mirrorOf: string,
  prefix: string,
  say: (l: string) => void,
): Promise<RunningLog> {
  const store = await openStore(cfg);
  const origin = cfg.origin ?? mirrorOf.slice(0, mirrorOf.indexOf('+'));
  const log = await Log.openReadOnly(store, { origin, verifierKey: mirrorOf });
  const refresh = setInterval(() => void log.refresh().catch(() => undefined), 1000);
  const app = createApp(log, { prefix, explorer: explorerConfig(prefix, mirrorOf) });
  const running = await start(app.fetch, cfg.listen, prefix, async () => {
    clearInterval(refresh);
    await store.close();
  });
  const size = log.state.checkpoint.size;
  say(`mirror of ${origin} at size ${size} (read-only), serving ${running.url}`);
  return { ...running, log, verifierKey: mirrorOf };
}

// config.json for the explorer page at /: this server's log and index, relative to the page.
function explorerConfig(prefix: string, vkey: string, index?: RunningIndex): ExplorerConfig {
  const log = prefix || '/';
  const ix = index && { index: index.routes.prefix, indexVkey: index.vkey };
  return { log, vkey, index: null, indexVkey: null, witnesses: [], ...ix };
}

/** RunningIndex is the in-process verifiable index of `serve --index`. */
interface RunningIndex {
  readonly routes: IndexRoutes;
  readonly vkey: string;
  /** start begins following the log (once the app it reads through exists). */
  start(): void;
  close(): Promise<void>;
}

const INDEX_INTERVAL_MS = 500;

// startIndex opens the index of the served log: its output log in the log's own storage (LevelDB
// in DATA/index, or PREFIX/index in the bucket), its map in DATA/index/map, and its key from
// --index-key or a dev key in DATA/index. It reads the log through the app, as any client would.
async function startIndex(
  cfg: ServeConfig,
  log: Log,
  prefix: string,
  logVkey: string,
  fetch: (r: Request) => Response | Promise<Response>,
  logger: { error(o: object, msg: string): void },
): Promise<RunningIndex> {
  const dir = join(cfg.data, 'index');
  const origin = `${log.state.checkpoint.origin}/index`;
  const signer = cfg.indexKey
    ? await readSignerKey(cfg.indexKey, origin)
    : (await loadOrCreateDevKey(dir, origin)).signer;
  const storage = cfg.storage && `${cfg.storage.replace(/\/+$/, '')}/index`;
  const store = await openStore({ ...cfg, data: dir, storage });
  const output = await Log.open(store, { origin: signer.name, signer });
  const kv = await openStateMap(join(dir, 'map'), MAP_LEVELDB);
  const input = new TlogClient({
    url: `http://in-process${prefix}`,
    verifiers: [parseVerifierKey(logVkey)],
    fetch: (async (u: string) => fetch(new Request(u))) as typeof globalThis.fetch,
  });
  const indexer = await Indexer.open({ input, output, kv });
  let stopped = false;
  let loop: Promise<void> = Promise.resolve();
  const follow = async () => {
    while (!stopped) {
      try {
        await indexer.step();
      } catch (err) {
        const alarm = err instanceof LogError && err.code === 'corrupt';
        logger.error({ err }, alarm ? 'index: ALARM, stopped' : 'index: step failed; will retry');
        if (alarm) return;
      }
      await new Promise((r) => setTimeout(r, INDEX_INTERVAL_MS));
    }
  };
  return {
    routes: { prefix: `${prefix}/index`, indexer, output },
    vkey: signer.verifierKey,
    start: () => void (loop = follow()),
    async close() {
      stopped = true;
      await loop;
      await output.close();
      await store.close();
      await kv.close();
    },
  };
}

/** startWitness loads the witness config and keys, opens its state and starts listening. */
export async function startWitness(cfg: WitnessConfig): Promise<Running> {
  const logger = pino({ name: 'tilelog-witness' }, pino.destination(2));
  const fixed = cfg.config ? parseWitnessConfig(await readFile(cfg.config, 'utf8')) : [];
  const cosigners = [
    ...(await readCosignerKeys(cfg.key, cfg.name)),
    ...(cfg.mldsaKey ? await readCosignerKeys(cfg.mldsaKey) : []),
  ];
  const state = await openStateMap(cfg.data);
  const witness = new Witness(fixed, cosigners, state);
  const { app, bastion, release } = await witnessRuntime(witness, fixed, cfg, logger);
  const running = await start(app.fetch, cfg.listen, cfg.prefix, async () => {
    await release();
    await state.close();
  });
  console.log(`witness keys: ${cosigners.map((c) => c.verifierKey).join(' ')}`);
  if (bastion) console.log(`bastion ${cfg.bastion}: serving as /${bastion.keyHash}`);
  console.log(`witnessing ${witness.origins().join(', ')}; serving ${running.url}/add-checkpoint`);
  return running;
}
