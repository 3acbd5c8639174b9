/**
 * The composition root: configuration → storage → log (recovery) → API → listen. The only module
 * that knows about files, ports and process lifetime.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { serve, type ServerType } from '@hono/node-server';
import { pino } from 'pino';

import {
  createApp,
  createMetrics,
  createWitnessApp,
  normalizePrefix,
  setErrorLogger,
} from './api/index.ts';
import type { KeyDetails } from './entries/index.ts';
import { LogError } from './errors.ts';
import {
  generateSignerKey,
  type NoteSigner,
  parseCosignerSecret,
  parseSignerKey,
} from './note/index.ts';
import { Log } from './sequencer/index.ts';
import {
  IndexedStore,
  LevelStore,
  type LogStore,
  openLocalMap,
  openS3Store,
} from './storage/index.ts';
import { parsePolicy, parseWitnessConfig, Witness, Witnessing } from './witness/index.ts';

/** ServeConfig is everything `tilelog serve` needs. */
export interface ServeConfig {
  readonly dataDir: string;
  /** keyFile is the signer key; when absent, a dev key is made in dataDir (or reused). */
  readonly keyFile?: string;
  /** origin is the checkpoint origin; default: the key's name. */
  readonly origin?: string;
  readonly host: string;
  readonly port: number;
  readonly prefix: string;
  readonly maxBatch?: number;
  readonly maxAgeMs?: number;
  readonly maxPending?: number;
  readonly sync?: boolean;
  readonly allowedKeyDetails?: readonly KeyDetails[];
  readonly acceptDsse?: boolean;
  /** witnessPolicyFile is a C2SP tlog-policy file: the witnesses to ask for each checkpoint. */
  readonly witnessPolicyFile?: string;
  readonly witnessTimeoutMs?: number;
  readonly witnessFailOpen?: boolean;
  /** mirrorOf is the verifier key of a log this store mirrors: serve it read-only, with no signing key. */
  readonly mirrorOf?: string;
  /** mldsaKeyFile holds an ML-DSA-44 cosigner secret key: the log cosigns each checkpoint with it. */
  readonly mldsaKeyFile?: string;
  /** storage is s3://BUCKET/PREFIX for S3; default: LevelDB in dataDir/db. */
  readonly storage?: string;
  readonly s3Endpoint?: string;
  readonly s3PathStyle?: boolean;
  readonly log?: (line: string) => void;
}

/** Running is a started server. */
export interface Running {
  readonly url: string;
  readonly log: Log;
  readonly verifierKey: string;
  close(): Promise<void>;
}

/** listen starts an HTTP server and returns it with its URL (the real port when port is 0). */
async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  host: string,
  port: number,
  prefix: string,
): Promise<{ server: ServerType; url: string }> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch, hostname: host, port }, () => resolve(s));
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}${prefix}` };
}

/** loadOrCreateDevKey reads dataDir/log.key, creating it (with log.pub) for origin when missing. */
export async function loadOrCreateDevKey(
  dataDir: string,
  origin: string,
): Promise<{ signer: NoteSigner; created: boolean }> {
  const keyFile = join(dataDir, 'log.key');
  if (existsSync(keyFile)) return { signer: await readSignerKey(keyFile), created: false };
  await mkdir(dataDir, { recursive: true });
  const skey = generateSignerKey(origin);
  const signer = parseSignerKey(skey);
  await writeFile(keyFile, skey + '\n', { mode: 0o600, flag: 'wx' });
  await writeFile(join(dataDir, 'log.pub'), signer.verifierKey + '\n');
  return { signer, created: true };
}

/** readSignerKey reads a signer key file as written by `tilelog keygen`. */
export async function readSignerKey(file: string): Promise<NoteSigner> {
  return parseSignerKey((await readFile(file, 'utf8')).trim());
}

/** parseStorageUrl splits s3://BUCKET/PREFIX. */
export function parseStorageUrl(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new LogError('bad_request', `storage ${url} is not s3://BUCKET[/PREFIX]`);
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/\/+$/, '') };
}

/** openStore opens the configured store: S3 for s3:// URLs, LevelDB in dataDir otherwise. */
export async function openStore(
  cfg: Pick<ServeConfig, 'dataDir' | 'storage' | 's3Endpoint' | 's3PathStyle' | 'sync'>,
): Promise<LogStore> {
  if (!cfg.storage) return LevelStore.open(join(cfg.dataDir, 'db'), { sync: cfg.sync ?? true });
  const { bucket, prefix } = parseStorageUrl(cfg.storage);
  const objects = await openS3Store({
    bucket,
    prefix,
    endpoint: cfg.s3Endpoint ?? process.env.AWS_ENDPOINT_URL,
    forcePathStyle: cfg.s3PathStyle ?? false,
  });
  // The dedup index stays on local disk: one S3 object per entry would cap throughput.
  await mkdir(cfg.dataDir, { recursive: true });
  return IndexedStore.open(objects, join(cfg.dataDir, 'dedup'));
}

// A mirror: the store holds a copy of another log (tilelog mirror); serve it read-only.
async function startMirrorServer(
  cfg: ServeConfig,
  prefix: string,
  say: (l: string) => void,
): Promise<Running> {
  const store = await openStore(cfg);
  const origin = cfg.origin ?? cfg.mirrorOf!.slice(0, cfg.mirrorOf!.indexOf('+'));
  const log = await Log.openReadOnly(store, { origin, verifierKey: cfg.mirrorOf! });
  const refresh = setInterval(() => void log.refresh().catch(() => undefined), 1000);
  const app = createApp(log, { prefix });
  const { server, url } = await listen(app.fetch, cfg.host, cfg.port, prefix);
  say(`mirror of ${origin} at size ${log.state.checkpoint.size} (read-only), serving ${url}`);
  return {
    url,
    log,
    verifierKey: cfg.mirrorOf!,
    async close() {
      clearInterval(refresh);
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}

/** freezeLog commits the final frozen checkpoint of the log in dataDir and returns it. */
export async function freezeLog(
  dataDir: string,
  keyFile?: string,
  origin?: string,
  storage?: Partial<ServeConfig>,
): Promise<string> {
  const signer = await readSignerKey(keyFile ?? join(dataDir, 'log.key'));
  const store = await openStore({ dataDir, ...storage });
  try {
    const log = await Log.open(store, { origin: origin ?? signer.name, signer });
    await log.freeze();
    return log.state.note;
  } finally {
    await store.close();
  }
}

// Structured logs (JSON lines on stderr); the human-readable startup lines stay on stdout.
const logger = pino({ name: 'tilelog' }, pino.destination(2));

/** startServer opens the store, recovers the log and starts listening. */
export async function startServer(cfg: ServeConfig): Promise<Running> {
  const say = cfg.log ?? ((l: string) => console.log(l));
  setErrorLogger((err) => logger.error({ err }, 'request failed'));
  const prefix = normalizePrefix(cfg.prefix);
  if (cfg.mirrorOf) return startMirrorServer(cfg, prefix, say);
  let signer: NoteSigner;
  if (cfg.keyFile) signer = await readSignerKey(cfg.keyFile);
  else {
    // Rekor v2 names a log by its host (its TrustedRoot baseUrl without the scheme), and sigstore
    // clients require the key name to appear in that baseUrl, so the dev key is named host:port.
    const devOrigin =
      cfg.origin ?? `${cfg.host === '0.0.0.0' ? 'localhost' : cfg.host}:${cfg.port}`;
    const dev = await loadOrCreateDevKey(cfg.dataDir, devOrigin);
    signer = dev.signer;
    say(`${dev.created ? 'generated' : 'using'} dev key ${join(cfg.dataDir, 'log.key')}`);
  }
  await mkdir(cfg.dataDir, { recursive: true });
  const store: LogStore = await openStore(cfg);
  const metrics = createMetrics();
  const log = await Log.open(store, {
    origin: cfg.origin ?? signer.name,
    signer,
    maxBatch: cfg.maxBatch,
    maxAgeMs: cfg.maxAgeMs,
    maxPending: cfg.maxPending,
    // A bucket is served as it is, so it must hold the partial tiles of every published size
    // (tlog-tiles); tilelog's own read path cuts them from the current tile instead.
    keepPartials: cfg.storage !== undefined,
    cosigners: cfg.mldsaKeyFile
      ? [parseCosignerSecret((await readFile(cfg.mldsaKeyFile, 'utf8')).trim())]
      : [],
    witnessing: cfg.witnessPolicyFile
      ? new Witnessing({
          policy: parsePolicy(await readFile(cfg.witnessPolicyFile, 'utf8')),
          timeoutMs: cfg.witnessTimeoutMs,
        })
      : undefined,
    failOpen: cfg.witnessFailOpen,
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
  });
  metrics.watch(log);
  // With S3 several writers may share the log: pick up their commits for reads now and then.
  const refresh = cfg.storage
    ? setInterval(() => void log.refresh().catch(() => undefined), 1000)
    : undefined;
  const app = createApp(log, {
    prefix,
    allowedKeyDetails: cfg.allowedKeyDetails,
    acceptDsse: cfg.acceptDsse,
    metrics,
  });
  const { server, url } = await listen(app.fetch, cfg.host, cfg.port, prefix);
  say(`verifier key: ${signer.verifierKey}`);
  logger.info(
    {
      origin: log.state.checkpoint.origin,
      size: log.state.checkpoint.size,
      url,
      storage: cfg.storage ?? 'leveldb',
    },
    'serving',
  );
  say(
    `log ${log.state.checkpoint.origin} at size ${log.state.checkpoint.size}${log.frozen ? ' (frozen: read-only)' : ''}, serving ${url}`,
  );
  return {
    url,
    log,
    verifierKey: signer.verifierKey,
    async close() {
      // Stop accepting; requests in flight still get their answers as the pool drains.
      const closed = new Promise<void>((r) => server.close(() => r()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      clearInterval(refresh);
      await log.close();
      logger.info({ size: log.state.checkpoint.size }, 'stopped after draining pending entries');
      await store.close();
    },
  };
}

/** WitnessConfig is everything `tilelog witness` needs. */
export interface WitnessConfig {
  readonly configFile: string;
  readonly keyFile: string;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly prefix: string;
}

/** startWitness loads the witness config and keys, opens its state and starts listening. */
export async function startWitness(
  cfg: WitnessConfig,
): Promise<{ url: string; close(): Promise<void> }> {
  const logs = parseWitnessConfig(await readFile(cfg.configFile, 'utf8'));
  const cosigners = (await readFile(cfg.keyFile, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseCosignerSecret(l.trim()));
  await mkdir(cfg.dataDir, { recursive: true });
  const state = await openLocalMap(join(cfg.dataDir, 'state'));
  const app = createWitnessApp(new Witness(logs, cosigners, state), cfg.prefix);
  const { server, url } = await listen(app.fetch, cfg.host, cfg.port, cfg.prefix);
  console.log(`witness keys: ${cosigners.map((c) => c.verifierKey).join(' ')}`);
  console.log(`witnessing ${logs.map((l) => l.origin).join(', ')}; serving ${url}/add-checkpoint`);
  return {
    url,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await state.close();
    },
  };
}
