/**
 * The log side of tlog-mirror (`serve --mirror-policy`): a loop that follows the log's
 * publications and brings every mirror of a tlog-policy file (its `witness` lines with a URL) up
 * to the published checkpoint: add-checkpoint with a consistency proof from the mirror's pending
 * size (learnt from its 409), then add-entries from its next entry (learnt from its 202 or 409),
 * at most 32 packages a request, gzipped, until it answers 200 with its cosignatures. It runs
 * beside publication and never holds it up; a mirror that fails is retried at the next tick,
 * backing off. On an S3 cluster only the instance that sequences pushes (its role moves with
 * the lease; a new pusher learns each mirror's state from its 409s). The policy's quorum is
 * not applied: a checkpoint is published before it is mirrored.
 *
 * Owned by MirrorPush: per endpoint, what it knows of the mirror's state and its backoff.
 */
import { gzipSync } from 'node:zlib';

import { concat, toBase64 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { buildProof, type Hash, proofSubtrees, subtreeConsistencyRanges } from '../merkle/index.ts';
import { openNote } from '../note/index.ts';
import type { Published } from '../sequencer/index.ts';
import {
  decodeBundle,
  ENTRIES,
  subtreeHashes,
  type Tile,
  type TileFetcher,
  TileHashes,
} from '../tiles/index.ts';
import type { Policy, PolicyWitness } from '../witness/index.ts';
import {
  formatHeader,
  formatPackage,
  MIRROR_INFO_TYPE,
  packageRanges,
  parseMirrorInfo,
} from './body.ts';

/** PushSource is the log being pushed: a Log fits. */
export interface PushSource {
  /**
   * role is what this instance does for the log (Log.role, read at every tick): a 'frontend' of
   * an S3 cluster does not push, so that only the instance that sequences does, whichever it is.
   */
  readonly role?: string;
  /** state is the published checkpoint. */
  readonly state: Published;
  readonly reader: {
    readTile(t: Tile): Promise<Uint8Array | null>;
    proveConsistency(size1: number, size2: number): Promise<Hash[]>;
  };
}

/** MirrorPushEvents observe pushing, for logs and metrics; they must not throw. */
export interface MirrorPushEvents {
  /** mirrored: the mirror (its policy names) cosigned the checkpoint of size. */
  mirrored?(names: readonly string[], size: number): void;
  /** failed: a push to the mirror at url failed, and why (it is retried). */
  failed?(url: string, reason: string): void;
}

/** MirrorPushOptions configures MirrorPush. */
export interface MirrorPushOptions {
  readonly policy: Policy;
  readonly source: PushSource;
  /** intervalMs is how often the loop looks for a new publication (default 250). */
  readonly intervalMs?: number;
  /** maxPackages bounds one add-entries request (default 32, as tlog-mirror advises). */
  readonly maxPackages?: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly events?: MirrorPushEvents;
}

interface Endpoint {
  readonly url: string;
  readonly mirrors: readonly PolicyWitness[];
  /** pending is the mirror's latest pending checkpoint size, as far as we know. */
  pending: number;
  /** next is the mirror's next entry, as far as we know. */
  next: number;
  /** mirrored is the size of the last checkpoint it cosigned for us. */
  mirrored: number;
  failures: number;
  retryAt: number;
}

const MAX_BACKOFF_MS = 60_000;

/** MirrorPush pushes a log's publications to its mirrors; see above. */
export class MirrorPush {
  private readonly source: PushSource;
  private readonly intervalMs: number;
  private readonly maxPackages: number;
  private readonly fetch: typeof globalThis.fetch;
  private readonly events: MirrorPushEvents;
  private readonly endpoints: Endpoint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: MirrorPushOptions) {
    this.source = opts.source;
    this.intervalMs = opts.intervalMs ?? 250;
    this.maxPackages = opts.maxPackages ?? 32;
    this.fetch = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.events = opts.events ?? {};
    const byUrl = new Map<string, PolicyWitness[]>();
    for (const w of opts.policy.witnesses) {
      if (!w.url) continue;
      const url = w.url.replace(/\/+$/, '');
      byUrl.set(url, [...(byUrl.get(url) ?? []), w]);
    }
    for (const [url, mirrors] of byUrl)
      this.endpoints.push({
        url,
        mirrors,
        pending: 0,
        next: 0,
        mirrored: -1,
        failures: 0,
        retryAt: 0,
      });
  }

  /** start begins following publications. */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pushAll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  /** stop ends the loop once the push in progress (if any) is over. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** pushAll brings every mirror that is due up to the published checkpoint, once; never throws. */
  async pushAll(): Promise<void> {
    // Every instance of a cluster publishes the same checkpoints; one pusher is enough, and a
    // frontend's view of the published checkpoint may lag the sequencer's.
    if (this.source.role === 'frontend') return;
    const pub = this.source.state;
    const now = Date.now();
    const due = this.endpoints.filter(
      (e) => e.mirrored !== pub.checkpoint.size && now >= e.retryAt,
    );
    await Promise.all(
      due.map(async (e) => {
        try {
          await this.push(e, pub);
          e.failures = 0;
          e.retryAt = 0;
        } catch (err) {
          e.failures++;
          e.retryAt = Date.now() + Math.min(MAX_BACKOFF_MS, 250 * 2 ** e.failures);
          this.events.failed?.(e.url, err instanceof Error ? err.message : String(err));
        }
      }),
    );
  }

  // push brings one mirror up to pub: add-checkpoint, then add-entries until it cosigns.
  private async push(e: Endpoint, pub: Published): Promise<void> {
    const size = pub.checkpoint.size;
    for (let round = 0; round < 4; round++) {
      if (e.pending < size) await this.addCheckpoint(e, pub);
      if (await this.addEntries(e, pub)) return;
    }
    throw new LogError('unavailable', `mirror ${e.url} did not take checkpoint ${size}`);
  }

  private async addCheckpoint(e: Endpoint, pub: Published): Promise<void> {
    const size = pub.checkpoint.size;
    for (let attempt = 0; attempt < 2 && e.pending < size; attempt++) {
      const proof = e.pending > 0 ? await this.source.reader.proveConsistency(e.pending, size) : [];
      const body = `old ${e.pending}\n${proof.map((h) => toBase64(h) + '\n').join('')}\n${pub.note}`;
      const res = await this.fetch(`${e.url}/add-checkpoint`, { method: 'POST', body });
      const text = await res.text();
      if (res.status === 200) {
        e.pending = size;
        return;
      }
      const m = /^(0|[1-9][0-9]*)\n$/.exec(text);
      if (res.status !== 409 || !m) throw failure('add-checkpoint', res.status, text);
      e.pending = Number(m[1]);
    }
  }

  // addEntries uploads [next, size) and reports whether the mirror cosigned the checkpoint.
  private async addEntries(e: Endpoint, pub: Published): Promise<boolean> {
    const size = pub.checkpoint.size;
    for (let guard = 0; guard < 2 + size / 256 / this.maxPackages + 4; guard++) {
      const start = Math.min(e.next, size);
      const ranges = packageRanges(start, size).slice(0, this.maxPackages);
      const parts = [
        formatHeader({
          origin: pub.checkpoint.origin,
          start,
          end: size,
          ticket: new Uint8Array(0),
        }),
      ];
      for (const r of ranges) parts.push(await this.packageOf(r, size));
      const res = await this.fetch(`${e.url}/add-entries`, {
        method: 'POST',
        body: gzipSync(concat(...parts), { level: 1 }),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' },
      });
      const text = await res.text();
      if (res.status === 200) {
        this.cosigned(e, pub, text);
        return true;
      }
      const type = res.headers.get('content-type') ?? '';
      const info = type.startsWith(MIRROR_INFO_TYPE) ? parseMirrorInfo(text) : null;
      if ((res.status !== 202 && res.status !== 409) || !info || typeof info === 'string')
        throw failure('add-entries', res.status, text);
      e.next = info.next;
      // A 409 naming another size: our upload_end is not one of its pending checkpoints.
      if (res.status === 409 && info.size !== size) {
        e.pending = info.size;
        if (info.size < size) return false; // add-checkpoint again, from that size
        e.mirrored = size; // it is ahead of what we publish: nothing for us to add
        return true;
      }
    }
    throw new LogError('unavailable', `mirror ${e.url} keeps refusing add-entries`);
  }

  // cosigned records a 200 whose lines verify as cosignatures by the mirror's keys.
  private cosigned(e: Endpoint, pub: Published, text: string): void {
    const names = e.mirrors.flatMap((w) => {
      try {
        openNote(pub.note + text, [w.verifier]);
        return [w.name];
      } catch {
        return [];
      }
    });
    if (names.length === 0)
      throw new LogError('unavailable', `mirror ${e.url} answered no cosignature we can verify`);
    e.mirrored = pub.checkpoint.size;
    e.next = Math.max(e.next, pub.checkpoint.size);
    this.events.mirrored?.(names, pub.checkpoint.size);
  }

  // packageOf builds the entry package for r in the tree of size (tlog-mirror, "add-entries").
  private async packageOf(
    r: { base: number; start: number; end: number },
    size: number,
  ): Promise<Uint8Array> {
    const width = r.end - r.base;
    const bundle = await this.read({ level: ENTRIES, n: r.base / 256, width });
    const entries = decodeBundle(bundle, width).slice(r.start - r.base);
    const ranges = subtreeConsistencyRanges(r.base, r.end, size);
    const fetch: TileFetcher = (tiles) =>
      Promise.all(tiles.map(async (t) => new TileHashes(await this.read(t))));
    const proof = buildProof(ranges, await subtreeHashes(fetch, proofSubtrees(ranges), size));
    return formatPackage({ entries, proof });
  }

  private async read(t: Tile): Promise<Uint8Array> {
    const data = await this.source.reader.readTile(t);
    if (!data)
      throw new LogError('not_found', `mirror push: tile ${t.level}/${t.n} is not in the log`);
    return data;
  }
}

function failure(call: string, status: number, text: string): LogError {
  const why = text.split('\n')[0]!.slice(0, 200);
  return new LogError('unavailable', `${call} answered ${status}: ${why}`);
}

/**
 * pushToMirrors starts pushing source's publications to the mirrors of policy, logging each
 * mirrored checkpoint and each failure (a pino logger fits); stop() the result to end it.
 */
export function pushToMirrors(
  policy: Policy,
  source: PushSource,
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void },
): MirrorPush {
  const push = new MirrorPush({
    policy,
    source,
    events: {
      mirrored: (mirrors, size) => logger.info({ mirrors, size }, 'mirror: checkpoint mirrored'),
      failed: (url, reason) => logger.warn({ url, reason }, 'mirror: push failed; will retry'),
    },
  });
  push.start();
  return push;
}
