/**
 * What the commands open before they run: stores (LevelDB or S3 by URL), signer and cosigner key
 * files, and the dev key `serve` makes when none is given. Nothing here listens or runs.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { badRequest, LogError } from './errors.ts';
import {
  type Cosigner,
  cosignerFromKey,
  generateSignerKey,
  keySigner,
  type NoteSigner,
  parseCosignerSecret,
  parseSignerKey,
  type Signer,
} from './note/index.ts';
import { isPkcs11Uri, type KeyOptions, Pkcs11Key } from './pkcs11/index.ts';
import {
  IndexedStore,
  LevelStore,
  type LocalMap,
  type LogStore,
  openLocalMap,
  openS3Store,
} from './storage/index.ts';

/** StoreConfig says where a log's store is. */
export interface StoreConfig {
  /** data is the local directory: the LevelDB store, or the dedup index beside an S3 store. */
  readonly data: string;
  /** storage is s3://BUCKET/PREFIX for S3; default: LevelDB in data/db. */
  readonly storage?: string;
  /** s3Endpoint overrides the AWS endpoint (Ceph RGW, MinIO). */
  readonly s3Endpoint?: string;
  readonly s3PathStyle?: boolean;
  /** sync makes each LevelDB write durable before it returns (default true). */
  readonly sync?: boolean;
}

/** parseStorageUrl splits s3://BUCKET/PREFIX. */
export function parseStorageUrl(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new LogError('bad_request', `storage ${url} is not s3://BUCKET[/PREFIX]`);
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/\/+$/, '') };
}

/** openStore opens the configured store: S3 for s3:// URLs, LevelDB in data/db otherwise. */
export async function openStore(cfg: StoreConfig): Promise<LogStore> {
  if (!cfg.storage) return LevelStore.open(join(cfg.data, 'db'), { sync: cfg.sync ?? true });
  const { bucket, prefix } = parseStorageUrl(cfg.storage);
  const objects = await openS3Store({
    bucket,
    prefix,
    endpoint: cfg.s3Endpoint,
    forcePathStyle: cfg.s3PathStyle ?? false,
  });
  // The dedup index stays on local disk: one S3 object per entry would cap throughput.
  await mkdir(cfg.data, { recursive: true });
  return IndexedStore.open(objects, join(cfg.data, 'dedup'));
}

/** openStoreAt opens DIR (LevelDB) or s3://BUCKET/PREFIX, as migrate and mirror name stores. */
export function openStoreAt(
  where: string,
  s3: Pick<StoreConfig, 's3Endpoint' | 's3PathStyle'>,
): Promise<LogStore> {
  return where.startsWith('s3://')
    ? openStore({ data: '.', storage: where, ...s3 })
    : openStore({ data: where });
}

/** openStateMap opens a local key-value map (the witness's state, an index's map) in dir. */
export async function openStateMap(
  dir: string,
  opts?: Parameters<typeof openLocalMap>[1],
): Promise<LocalMap> {
  await mkdir(dir, { recursive: true });
  return openLocalMap(join(dir, 'state'), opts);
}

/**
 * readSignerKey opens the log's signing key: a signer key file as written by `tilelog keygen`,
 * or a PKCS#11 URI (`pkcs11:token=…;object=…?module-path=…`) naming an Ed25519 key in a token,
 * which needs name (the origin: a token key has no name of its own; commands take it from
 * --origin, serve --index-key from the log's origin + /index). A key file names itself and name
 * is not used. Bad input throws a LogError whose one line says what is wrong.
 */
export async function readSignerKey(
  key: string,
  name?: string,
  opts: KeyOptions = {},
): Promise<Signer> {
  if (!isPkcs11Uri(key)) return parseSignerKey((await readFile(key, 'utf8')).trim());
  if (name === undefined) throw badRequest('a PKCS#11 key needs --origin (its key name)');
  return keySigner(name, await Pkcs11Key.open(key, opts));
}

/**
 * readCosignerKeys reads a file of cosigner secret keys, one a line; or opens a PKCS#11 URI as
 * one Ed25519 (cosignature/v1) cosigner named name. ML-DSA-44 keys are files: tokens do not
 * offer ML-DSA yet.
 */
export async function readCosignerKeys(
  key: string,
  name?: string,
  opts: KeyOptions = {},
): Promise<Cosigner[]> {
  if (isPkcs11Uri(key)) {
    if (name === undefined) throw badRequest('a PKCS#11 witness key needs --name (its key name)');
    return [cosignerFromKey(name, await Pkcs11Key.open(key, opts))];
  }
  return (await readFile(key, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseCosignerSecret(l.trim()));
}

/** loadOrCreateDevKey reads dataDir/log.key, creating it (with log.pub) for origin when missing. */
export async function loadOrCreateDevKey(
  dataDir: string,
  origin: string,
): Promise<{ signer: NoteSigner; created: boolean }> {
  const keyFile = join(dataDir, 'log.key');
  if (existsSync(keyFile))
    return { signer: parseSignerKey((await readFile(keyFile, 'utf8')).trim()), created: false };
  await mkdir(dataDir, { recursive: true });
  const skey = generateSignerKey(origin);
  const signer = parseSignerKey(skey);
  await writeFile(keyFile, skey + '\n', { mode: 0o600, flag: 'wx' });
  await writeFile(join(dataDir, 'log.pub'), signer.verifierKey + '\n');
  return { signer, created: true };
}
