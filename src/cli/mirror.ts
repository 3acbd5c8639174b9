/**
 * The `mirror` command, in two modes: a C2SP tlog-mirror server that logs push to (--listen
 * --config --key --data), and the one-shot pull copy of a remote tlog-tiles log (--url --vkey
 * --to), which `serve --mirror-of` then serves.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createMirrorApp, createMirrorMetrics, listen, normalizePrefix } from '../api/index.ts';
import { TlogClient } from '../client/index.ts';
import { openStoreAt, parseStorageUrl, readCosignerKeys, type StoreConfig } from '../config.ts';
import { Mirror, MirrorCopy, parseMirrorConfig } from '../mirror/index.ts';
import { parseVerifierKey } from '../note/index.ts';
import { Log, migrate as copyStore } from '../sequencer/index.ts';
import { parseListen, type Running } from '../server.ts';
import { HttpStore, LevelStore, type LogStore, openS3Store } from '../storage/index.ts';
import { originHash } from '../witness/index.ts';
import { checkAddress, progressBar, S3, untilSignal, VKEY } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

/** MirrorConfig is everything the mirror server needs; the names are its flags'. */
export interface MirrorConfig extends Pick<StoreConfig, 's3Endpoint' | 's3PathStyle'> {
  readonly listen: string;
  /** config holds the mirrored logs' `log ORIGIN VKEY…` lines (as the witness's). */
  readonly config: string;
  /** key is the mirror's cosigner key file (keygen --witness). */
  readonly key: string;
  /** data is a directory (one LevelDB per log) or s3://BUCKET/PREFIX (one prefix per log). */
  readonly data: string;
  readonly prefix?: string;
  readonly say?: (line: string) => void;
}

/** RunningMirror is a started mirror server. */
export interface RunningMirror extends Running {
  readonly mirror: Mirror;
  readonly verifierKeys: readonly string[];
}

// openCopyStore opens the store of one mirrored log: DATA/<origin hash> or PREFIX/<origin hash>.
async function openCopyStore(cfg: MirrorConfig, hash: string): Promise<LogStore> {
  if (!cfg.data.startsWith('s3://')) return LevelStore.open(join(cfg.data, hash), { sync: true });
  const { bucket, prefix } = parseStorageUrl(cfg.data);
  return openS3Store({
    bucket,
    prefix: prefix ? `${prefix}/${hash}` : hash,
    endpoint: cfg.s3Endpoint,
    forcePathStyle: cfg.s3PathStyle ?? false,
  });
}

/** startMirrorServer opens every configured log's copy and serves the mirror protocol and copies. */
export async function startMirrorServer(cfg: MirrorConfig): Promise<RunningMirror> {
  const say = cfg.say ?? ((l: string) => console.log(l));
  const logs = parseMirrorConfig(await readFile(cfg.config, 'utf8'));
  const cosigners = await readCosignerKeys(cfg.key);
  const copies: MirrorCopy[] = [];
  const served = new Map<string, Log>();
  const vkeys = new Map(logs.map((l) => [l.origin, l.noteKey]));
  const serve = async (copy: MirrorCopy, store: LogStore) => {
    const hash = originHash(copy.log.origin);
    const log = served.get(hash);
    if (log) return log.refresh();
    const verifierKey = vkeys.get(copy.log.origin)!;
    served.set(hash, await Log.openReadOnly(store, { origin: copy.log.origin, verifierKey }));
  };
  const stores = new Map<MirrorCopy, LogStore>();
  try {
    for (const log of logs) {
      const store = await openCopyStore(cfg, originHash(log.origin));
      const copy = await MirrorCopy.open(store, log).catch(async (err) => {
        await store.close();
        throw err;
      });
      copies.push(copy);
      stores.set(copy, store);
      if (copy.mirrored) await serve(copy, store);
    }
  } catch (err) {
    await Promise.all(copies.map((c) => c.close()));
    throw err;
  }
  const mirror = new Mirror(copies, cosigners);
  mirror.onMirrored = (copy) => serve(copy, stores.get(copy)!);
  const metrics = createMirrorMetrics(logs.map((l) => l.origin));
  mirror.events = metrics.events;
  for (const c of copies)
    if (c.mirrored) metrics.events.mirrored?.(c.log.origin, c.mirrored.checkpoint.size);
  const prefix = normalizePrefix(cfg.prefix ?? '');
  const app = createMirrorApp(mirror, (h) => served.get(h), prefix, metrics);
  const { host, port } = parseListen(cfg.listen);
  const listener = await listen(app.fetch, host, port, prefix);
  const verifierKeys = cosigners.map((c) => c.verifierKey);
  say(`mirror keys: ${verifierKeys.join(' ')}`);
  for (const c of copies)
    say(
      `mirroring ${c.log.origin} at ${c.mirrored?.checkpoint.size ?? 'no checkpoint'} (next entry ${c.next}): ${listener.url}/${originHash(c.log.origin)}/`,
    );
  return {
    url: listener.url,
    mirror,
    verifierKeys,
    async close() {
      await listener.close();
      for (const log of served.values()) await log.close();
      await Promise.all(copies.map((c) => c.close()));
    },
  };
}

/** mirror runs a tlog-mirror server, or copies a remote log into a store (--url). */
export const mirror = defineCommand({
  name: 'mirror',
  summary:
    'Run a mirror (C2SP tlog-mirror) that logs push to, or copy a remote tlog-tiles log (--url).',
  notes: [
    'Server: --listen, --config, --key and --data; each log is served over tlog-tiles at',
    '/<origin hash>/ with the mirror cosignature on its checkpoint. Pull: --url, --vkey and --to',
    '(serve the copy with serve --mirror-of).',
  ],
  flags: [
    {
      name: 'listen',
      type: 'string',
      arg: 'HOST:PORT',
      env: 'TILELOG_MIRROR_LISTEN',
      help: 'serve the tlog-mirror protocol on this address',
    },
    {
      name: 'config',
      type: 'string',
      arg: 'FILE',
      help: 'the logs to mirror: one "log ORIGIN VKEY..." line each, as for the witness',
    },
    {
      name: 'key',
      type: 'string',
      arg: 'FILE',
      help: "the mirror's cosigner key file (tilelog keygen --witness NAME)",
    },
    {
      name: 'data',
      type: 'string',
      arg: 'DIR|s3://BUCKET/PREFIX',
      help: 'where the copies live: a LevelDB per log in DIR, or a prefix per log in the bucket',
    },
    {
      name: 'prefix',
      type: 'string',
      arg: 'P',
      default: '',
      help: 'URL prefix of the routes (submission and monitoring prefix alike)',
    },
    { name: 'url', type: 'string', arg: 'PREFIX', help: "pull: the log's URL prefix" },
    { ...VKEY, env: undefined, help: "pull: the log's verifier key" },
    { name: 'to', type: 'string', arg: 'DIR|s3://BUCKET/PREFIX', help: 'pull: the target store' },
    ...S3,
  ],
  async run({ url, vkey, to, listen: where, config, key, data, prefix, ...s3 }) {
    if (url !== undefined) {
      if (vkey === undefined) usageError('missing --vkey');
      if (to === undefined) usageError('missing --to');
      return pull(url, vkey, to, s3);
    }
    if (where === undefined) usageError('missing --listen (or --url for a pull copy)');
    checkAddress('listen', where);
    if (config === undefined) usageError('missing --config');
    if (key === undefined) usageError('missing --key');
    if (data === undefined) usageError('missing --data');
    await untilSignal(() => startMirrorServer({ listen: where, config, key, data, prefix, ...s3 }));
    return 0;
  },
});

// pull copies a remote tlog-tiles log into a store, verifying it (the mirror before tlog-mirror).
async function pull(
  url: string,
  vkey: string,
  to: string,
  s3: Pick<StoreConfig, 's3Endpoint' | 's3PathStyle'>,
): Promise<number> {
  const verifier = parseVerifierKey(vkey);
  const from = new HttpStore(new TlogClient({ url, verifiers: [verifier] }));
  const dst = await openStoreAt(to, s3);
  try {
    const copied = await copyStore(from, dst, verifier, verifier.name, progressBar('mirror'));
    console.log(
      copied === 0 ? 'the mirror is up to date' : `mirrored and verified ${copied} entries`,
    );
    return 0;
  } finally {
    await dst.close();
  }
}
