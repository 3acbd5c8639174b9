/**
 * The composition root: configuration → storage → log (recovery) → API → listen. The only module
 * that knows about files, ports and process lifetime.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { createApp, normalizePrefix } from './api/index.ts';
import type { KeyDetails } from './entries/index.ts';
import { generateSignerKey, parseSignerKey, type NoteSigner } from './note/index.ts';
import { Log } from './sequencer/index.ts';
import { LevelStore, type LogStore } from './storage/index.ts';

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
  readonly log?: (line: string) => void;
}

/** Running is a started server. */
export interface Running {
  readonly url: string;
  readonly log: Log;
  readonly verifierKey: string;
  close(): Promise<void>;
}

/** loadOrCreateDevKey reads dataDir/log.key, creating it (with log.pub) for origin when missing. */
export async function loadOrCreateDevKey(dataDir: string, origin: string): Promise<{ signer: NoteSigner; created: boolean }> {
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

/** freezeLog commits the final frozen checkpoint of the log in dataDir and returns it. */
export async function freezeLog(dataDir: string, keyFile?: string, origin?: string): Promise<string> {
  const signer = await readSignerKey(keyFile ?? join(dataDir, 'log.key'));
  const store = await LevelStore.open(join(dataDir, 'db'));
  try {
    const log = await Log.open(store, { origin: origin ?? signer.name, signer });
    await log.freeze();
    return log.state.note;
  } finally {
    await store.close();
  }
}

/** startServer opens the store, recovers the log and starts listening. */
export async function startServer(cfg: ServeConfig): Promise<Running> {
  const say = cfg.log ?? ((l: string) => console.log(l));
  const prefix = normalizePrefix(cfg.prefix);
  let signer: NoteSigner;
  if (cfg.keyFile) signer = await readSignerKey(cfg.keyFile);
  else {
    // Rekor v2 names a log by its host (its TrustedRoot baseUrl without the scheme), and sigstore
    // clients require the key name to appear in that baseUrl, so the dev key is named host:port.
    const devOrigin = cfg.origin ?? `${cfg.host === '0.0.0.0' ? 'localhost' : cfg.host}:${cfg.port}`;
    const dev = await loadOrCreateDevKey(cfg.dataDir, devOrigin);
    signer = dev.signer;
    say(`${dev.created ? 'generated' : 'using'} dev key ${join(cfg.dataDir, 'log.key')}`);
  }
  await mkdir(cfg.dataDir, { recursive: true });
  const store: LogStore = await LevelStore.open(join(cfg.dataDir, 'db'), { sync: cfg.sync ?? true });
  const log = await Log.open(store, {
    origin: cfg.origin ?? signer.name,
    signer,
    maxBatch: cfg.maxBatch,
    maxAgeMs: cfg.maxAgeMs,
    maxPending: cfg.maxPending,
  });
  const app = createApp(log, { prefix, allowedKeyDetails: cfg.allowedKeyDetails, acceptDsse: cfg.acceptDsse });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: cfg.host, port: cfg.port }, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}${prefix}`;
  say(`verifier key: ${signer.verifierKey}`);
  say(`log ${log.state.checkpoint.origin} at size ${log.state.checkpoint.size}${log.frozen ? ' (frozen: read-only)' : ''}, serving ${url}`);
  return {
    url,
    log,
    verifierKey: signer.verifierKey,
    async close() {
      // Stop accepting; requests in flight still get their answers as the pool drains.
      const closed = new Promise<void>((r) => server.close(() => r()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      await log.close();
      await store.close();
    },
  };
}
