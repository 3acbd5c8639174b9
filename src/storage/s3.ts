/**
 * The S3 driver (@aws-sdk/client-s3; the only file that imports it). S3 has no multi-key
 * transactions, so a commit is staged (Sunlight's design): 1. the objects go into one staging
 * object named after the new lock; 2. the lock is swapped with a conditional PUT (If-None-Match: *
 * to create, If-Match: <ETag> to replace), the commit point; 3. the objects are applied, the
 * published checkpoint last; 4. the staging object is deleted (later, DROP_BATCH at a time in one
 * request). readLock() finishes a commit that died between 2 and 4 by applying its staging object
 * again, so a lock is never visible without its objects. Objects are laid out as tlog-tiles URLs
 * under the prefix, with Content-Type and Cache-Control set, so the bucket can serve reads
 * directly.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';

import { decodeUtf8, equal, toHex } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { assert, LogError } from '../errors.ts';
import { peekCheckpoint } from '../note/index.ts';
import { decodeStaging, encodeStaging } from './staging.ts';
import type { Commit, LogStore, StoredObject, Versioned, VersionedObjects } from './storage.ts';

/** S3StoreOptions locates the bucket; credentials come from the standard AWS chain. */
export interface S3StoreOptions {
  readonly bucket: string;
  readonly prefix?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  /**
   * configure is called with the S3 client once it exists, before its first request (tests add
   * fault-injecting middleware; the client resolves its middleware once, at its first request).
   */
  readonly configure?: (client: S3Client) => void;
}

const LOCK = 'lock';
const CHECKPOINT = 'checkpoint';

// treeSize is the size line of a checkpoint note (-1 when it has none: any checkpoint is larger).
function treeSize(note: Uint8Array): number {
  const size = Number(peekCheckpoint(decodeUtf8(note) ?? '').size);
  return Number.isSafeInteger(size) ? size : -1;
}
const PARALLEL = 32;
// Applied staging objects are deleted this many at a time, in one DeleteObjects request.
const DROP_BATCH = 16;

/**
 * classify sorts S3 failures into the three kinds the sequencer handles differently: a refused
 * precondition is a lost race ('conflict': reload and retry), a missing bucket or a permission or
 * request error is 'fatal' (retrying cannot help), and the rest, throttling (503 SlowDown, which
 * the SDK has already retried with backoff) and network errors included, is 'unavailable'.
 */
export function classify(err: unknown, what: string): LogError {
  if (err instanceof LogError) return err;
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  const name = err instanceof S3ServiceException ? err.name : '';
  if (status === 412)
    return new LogError('conflict', `storage: s3 ${what}: precondition failed`, { cause: err });
  if (
    name === 'NoSuchBucket' ||
    status === 301 ||
    status === 400 ||
    status === 401 ||
    status === 403
  ) {
    return new LogError('fatal', `storage: s3 ${what} refused: ${name || status}`, { cause: err });
  }
  return new LogError('unavailable', `storage: s3 ${what} failed${status ? ` (${status})` : ''}`, {
    cause: err,
  });
}

function isNotFound(err: unknown): boolean {
  // A missing bucket is a 404 too, but it is a misconfiguration, not an absent object.
  return (
    err instanceof S3ServiceException &&
    err.name !== 'NoSuchBucket' &&
    (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)
  );
}

/** headersFor returns the Content-Type and Cache-Control a tlog-tiles reader expects for key. */
export function headersFor(
  key: string,
): Pick<PutObjectCommandInput, 'ContentType' | 'CacheControl'> {
  if (key === 'checkpoint')
    return { ContentType: 'text/plain; charset=utf-8', CacheControl: 'public, max-age=2' };
  if (key.startsWith('tile/'))
    return {
      ContentType: 'application/octet-stream',
      CacheControl: 'public, max-age=31536000, immutable',
    };
  return { ContentType: 'application/octet-stream', CacheControl: 'no-store' };
}

/** S3Store is a log in an S3 bucket under a key prefix. */
export class S3Store implements LogStore, VersionedObjects {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private lock: { bytes: Uint8Array; etag: string } | null | undefined;
  // Whether this server matches If-Match against the unquoted ETag (learned; see putIfMatch).
  private unquotedIfMatch = false;
  // Staging objects applied and not yet deleted (garbage, that readLock() applies again at most
  // harmlessly while one names the current lock), those being deleted, and that deletion. A
  // commit's own DELETE was one of its ~8 requests; DROP_BATCH of them go in one request.
  private garbage: string[] = [];
  private readonly deleting = new Set<string>();
  private dropped: Promise<void> = Promise.resolve();
  private queue: Promise<unknown> = Promise.resolve();
  // The lock of the last commit that failed here: its swap may have landed with its objects not
  // (all) applied, so a commit built on it must not land before readLock() has finished it.
  private failed: Uint8Array | null = null;
  // The ETag of the published checkpoint as this store last wrote it (see putCheckpoint).
  private checkpointEtag: string | null = null;

  constructor(opts: S3StoreOptions) {
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? false,
      maxAttempts: 6, // the SDK backs off on throttling (503 SlowDown) and transient errors
      // Resolve each command's middleware once, not on every request (PUT ~1.0 -> ~0.65 ms of
      // CPU; a commit makes ~7). Middleware must therefore be added before the first request.
      cacheMiddleware: true,
    });
    opts.configure?.(this.client);
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? opts.prefix.replace(/\/?$/, '/') : '';
  }

  async get(key: string): Promise<Uint8Array | null> {
    return (await this.getWithEtag(key))?.bytes ?? null;
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    const out: (Uint8Array | null)[] = new Array(keys.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const i = next++;
        out[i] = await this.get(keys[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, keys.length) }, worker));
    return out;
  }

  async readLock(): Promise<Uint8Array | null> {
    const lock = await this.getWithEtag(LOCK);
    this.lock = lock;
    if (!lock) return null;
    // Finish a commit that died after its lock swap: the same apply step as commit().
    const stagingKey = this.stagingKey(lock.bytes);
    // One this store applied itself is only waiting to be deleted.
    const applied = this.garbage.includes(stagingKey) || this.deleting.has(stagingKey);
    const staged = applied ? null : await this.get(stagingKey);
    if (staged) {
      await this.applyStaged(decodeStaging(staged));
      this.garbage.push(stagingKey);
      this.drop();
    }
    this.failed = null; // whatever failed here is now finished, or never was the lock
    return lock.bytes;
  }

  commit(c: Commit): Promise<void> {
    const run = this.queue.then(() => this.commitNow(c));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commitNow(c: Commit): Promise<void> {
    // The contract's order: a commit pipelined on one that failed fails too. Landing it would
    // leave the failed commit's objects unapplied for good (readLock() finishes only the
    // staging object of the current lock) and its dedup keys lost.
    if (this.failed && c.expected && equal(c.expected, this.failed))
      throw new LogError('conflict', 'storage: the commit this one builds on failed');
    try {
      await this.stageSwapApply(c);
    } catch (err) {
      this.failed = c.next.slice();
      throw err;
    }
  }

  private async stageSwapApply(c: Commit): Promise<void> {
    // 1. Stage: durable, invisible to readers until the lock names it.
    const stagingKey = this.stagingKey(c.next);
    // The same lock again (a retry after an unknown outcome): its old staging object must not
    // be deleted after this one is written.
    this.garbage = this.garbage.filter((k) => k !== stagingKey);
    if (this.deleting.has(stagingKey)) await this.dropped;
    await this.put(stagingKey, encodeStaging(c.objects));
    // 2. Swap the lock, conditionally: the commit point.
    try {
      this.lock = { bytes: c.next.slice(), etag: await this.swapLock(c.expected, c.next) };
    } catch (err) {
      this.lock = undefined;
      // Only a refused swap is known not to have happened; after any other failure the lock may
      // name this staging object, and readLock() will need it.
      if (!(err instanceof LogError && err.code === 'conflict')) throw err;
      // The SDK retries a PUT whose answer was lost; when the first attempt landed, the retry is
      // refused by the precondition it met itself. The lock then names this commit after all.
      const now = await this.getWithEtag(LOCK);
      if (!now || !equal(now.bytes, c.next)) {
        await this.delete(stagingKey).catch(() => undefined);
        throw err;
      }
      this.lock = now;
    }
    // 3. Apply. Dying here is finished by readLock().
    await this.applyStaged(c.objects);
    // 4. Drop the staging object, later and with others, without holding up the next commit:
    //    once applied it is redundant (readLock() would only apply it again).
    this.garbage.push(stagingKey);
    if (this.garbage.length >= DROP_BATCH) this.drop();
  }

  // drop deletes the garbage staging objects, after any deletion already under way.
  private drop(): void {
    const keys = [...new Set(this.garbage.splice(0))];
    if (keys.length === 0) return;
    for (const k of keys) this.deleting.add(k);
    this.dropped = this.dropped
      .then(() => this.deleteMany(keys))
      .catch(() => undefined) // left behind, it is only garbage
      .finally(() => keys.forEach((k) => this.deleting.delete(k)));
  }

  private async swapLock(expected: Uint8Array | null, next: Uint8Array): Promise<string> {
    if (expected === null) return this.put(LOCK, next, { IfNoneMatch: '*' });
    let current = this.lock;
    if (!current || !equal(current.bytes, expected)) current = await this.getWithEtag(LOCK);
    if (!current || !equal(current.bytes, expected))
      throw new LogError('conflict', 'storage: lock changed since it was read');
    return this.putIfMatch(LOCK, next, current.etag);
  }

  private async putIfMatch(key: string, value: Uint8Array, etag: string): Promise<string> {
    // Ceph RGW (Pacific) compares If-Match with the unquoted stored ETag (ecosystem.md). Once a
    // server has taken the unquoted form, send that first: a lock swap is one request, not two.
    const unquoted = etag.replace(/^"|"$/g, '');
    const forms = this.unquotedIfMatch ? [unquoted, etag] : [etag, unquoted];
    try {
      return await this.put(key, value, { IfMatch: forms[0] });
    } catch (err) {
      if (!(err instanceof LogError && err.code === 'conflict') || unquoted === etag) throw err;
      const version = await this.put(key, value, { IfMatch: forms[1] });
      this.unquotedIfMatch = forms[1] === unquoted;
      return version;
    }
  }

  async getVersioned(key: string): Promise<Versioned | null> {
    const r = await this.getWithEtag(key);
    return r && { bytes: r.bytes, version: r.etag };
  }

  async versionOf(key: string): Promise<string | null> {
    try {
      const r = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      return r.ETag ?? '';
    } catch (err) {
      if (isNotFound(err)) return null;
      throw classify(err, `head ${key}`);
    }
  }

  async putIfVersion(key: string, value: Uint8Array, version: string | null): Promise<string> {
    assert(key !== LOCK && !key.startsWith('staging/'), 'storage: putIfVersion on the lock');
    if (version === null) return this.put(key, value, { IfNoneMatch: '*' });
    return this.putIfMatch(key, value, version);
  }

  private async applyStaged(objects: readonly StoredObject[]): Promise<void> {
    const rest = objects.filter((o) => o.key !== 'checkpoint');
    let next = 0;
    const worker = async () => {
      while (next < rest.length) {
        const o = rest[next++]!;
        if (o.value === null) await this.delete(o.key);
        else await this.put(o.key, o.value);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, rest.length) }, worker));
    // The published checkpoint goes last: a reader of the bucket never sees it before its tiles.
    for (const o of objects)
      if (o.key === 'checkpoint' && o.value) await this.putCheckpoint(o.value);
  }

  /**
   * putCheckpoint writes the published checkpoint unless the bucket already holds a larger tree:
   * an apply can come late (a sequencer paused between its lock swap and its apply, or readLock()
   * finishing a commit that its own writer finished meanwhile) and must not take the published
   * tree back. Conditional on the ETag this store last wrote, so a steady writer makes one PUT.
   */
  private async putCheckpoint(value: Uint8Array): Promise<void> {
    let etag = this.checkpointEtag;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        this.checkpointEtag =
          etag === null
            ? await this.put(CHECKPOINT, value, { IfNoneMatch: '*' })
            : await this.putIfMatch(CHECKPOINT, value, etag);
        return;
      } catch (err) {
        if (!(err instanceof LogError && err.code === 'conflict')) throw err;
      }
      const now = await this.getWithEtag(CHECKPOINT);
      if (now && treeSize(now.bytes) > treeSize(value)) return;
      etag = now?.etag ?? null;
    }
    throw new LogError('unavailable', 'storage: the published checkpoint keeps changing');
  }

  private stagingKey(lock: Uint8Array): string {
    return `staging/${toHex(sha256(lock))}`;
  }

  private async getWithEtag(key: string): Promise<{ bytes: Uint8Array; etag: string } | null> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      return { bytes: await r.Body!.transformToByteArray(), etag: r.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw classify(err, `get ${key}`);
    }
  }

  private async put(
    key: string,
    value: Uint8Array,
    cond: Pick<PutObjectCommandInput, 'IfMatch' | 'IfNoneMatch'> = {},
  ): Promise<string> {
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: value,
          ...headersFor(key),
          ...cond,
        }),
      );
      return r.ETag ?? '';
    } catch (err) {
      throw classify(err, `put ${key}`);
    }
  }

  private async deleteMany(keys: readonly string[]): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((k) => ({ Key: this.prefix + k })), Quiet: true },
        }),
      );
    } catch (err) {
      throw classify(err, 'delete staging objects');
    }
  }

  private async delete(key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
    } catch (err) {
      if (!isNotFound(err)) throw classify(err, `delete ${key}`);
    }
  }

  async close(): Promise<void> {
    this.drop();
    await this.dropped;
    this.client.destroy();
  }
}
