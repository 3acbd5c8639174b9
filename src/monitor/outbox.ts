/**
 * The webhook outbox: every notification (a match or an alarm) is written durably to LevelDB in
 * the monitor's state directory before the monitor moves past it, and a delivery loop POSTs them
 * in order, one at a time, deleting each only after a 2xx. So a notification is delivered at
 * least once and never lost across restarts; an id already queued or delivered is not queued
 * again, so the only repeat is the POST in flight when the process dies (same id). Failures are
 * retried with exponential backoff and jitter. The backlog is bounded: add() waits while it is
 * full, which holds the monitor back (its position is not saved past an unqueued match).
 *
 * The delivered markers are bounded: once the monitor has saved its position in a log past an
 * index, it never finds the notifications below it again (a restart reads on from the saved
 * position), so forget() drops their markers; what stays is what the next crash could repeat.
 *
 * Keys: `q/<seq>` the queued notification (JSON); `m/<log>/<index>/<id>` its marker, "q" while
 * queued and "sent" once delivered, with <log> a hash of the log's URL and <index> 16 digits, so
 * that a log's markers below an index are one ordered range.
 */
import { createHash } from 'node:crypto';

import { utf8 } from '../bytes.ts';
import { openLocalMap, type OrderedLocalMap } from '../storage/index.ts';

/** Notification is one webhook body: a match of a rule, or an alarm on a log. */
export interface Notification {
  /** id is stable for (type, origin, index, rule or checkpoint): receivers dedupe on it. */
  readonly id: string;
  readonly type: 'match' | 'alarm';
  readonly origin: string;
  /** url is the log's URL as the monitor follows it. */
  readonly url: string;
  readonly index: number;
  readonly rule?: string;
  /** entry is the decoded entry (the Rekor body as JSON), for a match. */
  readonly entry?: unknown;
  /** summary is what the monitor read from the entry (keys, SANs, issuer, extensions). */
  readonly summary?: unknown;
  readonly reason?: string;
  /** checkpoint is, for an alarm, the text of the checkpoint that contradicts the position. */
  readonly checkpoint?: string;
}

/**
 * notificationId derives the stable id of a notification from what identifies it: for a match
 * the rule, for an alarm the checkpoint it found.
 */
export function notificationId(type: string, origin: string, index: number, rule = ''): string {
  return createHash('sha256')
    .update(JSON.stringify([type, origin, index, rule]))
    .digest('hex')
    .slice(0, 32);
}

/** OutboxOptions configure delivery. */
export interface OutboxOptions {
  readonly url: string;
  /** maxBacklog bounds the queued notifications (default 10000). */
  readonly maxBacklog?: number;
  /** retryMs is the first retry delay; it doubles up to maxRetryMs (defaults 500 ms and 60 s). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly timeoutMs?: number;
  readonly fetch?: typeof globalThis.fetch;
  /** onAttempt reports each POST (for metrics and logs). */
  onAttempt?(ok: boolean, error?: string): void;
  /** onBacklog reports the backlog whenever it changes. */
  onBacklog?(queued: number): void;
}

const dec = new TextDecoder();
const seqKey = (n: number) => `q/${String(n).padStart(16, '0')}`;
const logKey = (url: string) => `m/${createHash('sha256').update(url).digest('hex').slice(0, 16)}/`;
const markerKey = (n: Pick<Notification, 'url' | 'index' | 'id'>) =>
  `${logKey(n.url)}${String(n.index).padStart(16, '0')}/${n.id}`;

/** Outbox is a durable, bounded webhook queue with one delivery loop. */
export class Outbox {
  private seq = 0;
  private queued = 0;
  private stopped = false;
  private wake: (() => void) | null = null;
  private kicked = false;
  private roomWaiters: (() => void)[] = [];
  private loop: Promise<void> | null = null;

  private readonly db: OrderedLocalMap;
  private readonly opts: OutboxOptions;

  private constructor(db: OrderedLocalMap, opts: OutboxOptions) {
    this.db = db;
    this.opts = opts;
  }

  /** open opens (creating) the outbox in dir and counts what an earlier run left queued. */
  static async open(dir: string, opts: OutboxOptions): Promise<Outbox> {
    const o = new Outbox(await openLocalMap(dir), opts);
    const q = await o.db.list('q/');
    o.queued = q.length;
    o.seq = q.length ? Number(q.at(-1)!.key.slice(2)) + 1 : 0;
    o.opts.onBacklog?.(o.queued);
    return o;
  }

  /** backlog is the number of notifications not yet delivered. */
  get backlog(): number {
    return this.queued;
  }

  /**
   * add queues n durably (fsynced) unless its id was queued or delivered before; it waits while
   * the backlog is full.
   */
  async add(n: Notification): Promise<void> {
    if (await this.db.get(markerKey(n))) return;
    while (this.queued >= (this.opts.maxBacklog ?? 10_000) && !this.stopped)
      await new Promise<void>((r) => this.roomWaiters.push(r));
    const key = seqKey(this.seq++);
    await this.db.apply(
      [
        { key, value: utf8(JSON.stringify(n)) },
        { key: markerKey(n), value: utf8('q') },
      ],
      { sync: true },
    );
    this.queued++;
    this.opts.onBacklog?.(this.queued);
    this.kicked = true;
    this.wake?.();
  }

  /**
   * forget drops the markers of the log at url's delivered notifications below index: the
   * monitor calls it once its position in that log is saved at index, so they cannot recur.
   * Markers of notifications still queued stay (a later call drops them once delivered).
   */
  async forget(url: string, index: number): Promise<void> {
    const prefix = logKey(url);
    const below = (key: string) => Number(key.slice(prefix.length, prefix.length + 16)) < index;
    const stale = (await this.db.list(prefix)).filter(
      (m) => below(m.key) && dec.decode(m.value) === 'sent',
    );
    if (stale.length > 0) await this.db.apply(stale.map((m) => ({ key: m.key, value: null })));
  }

  /** markers counts the ids remembered (queued or delivered), for tests and metrics. */
  async markers(): Promise<number> {
    return (await this.db.list('m/')).length;
  }

  /** start runs the delivery loop until close. */
  start(): void {
    this.loop ??= this.deliverAll();
  }

  /** drain waits until the backlog is empty or timeoutMs passes; true when empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queued > 0 && Date.now() < deadline) await sleep(50);
    return this.queued === 0;
  }

  /** close stops delivering (a POST in flight is abandoned) and closes the database. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    for (const r of this.roomWaiters.splice(0)) r();
    await this.loop;
    await this.db.close();
  }

  private async deliverAll(): Promise<void> {
    let delay = this.opts.retryMs ?? 500;
    while (!this.stopped) {
      this.kicked = false;
      const [next] = await this.db.list('q/', 1);
      if (!next) {
        // An add() that landed while the list was read set kicked: look again at once.
        if (!this.kicked && !this.stopped) await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      const n = JSON.parse(dec.decode(next.value)) as Notification;
      const error = await this.post(dec.decode(next.value));
      if (this.stopped) return;
      if (error === null) {
        await this.db.apply(
          [
            { key: next.key, value: null },
            { key: markerKey(n), value: utf8('sent') },
          ],
          { sync: true },
        );
        this.queued--;
        this.roomWaiters.shift()?.();
        delay = this.opts.retryMs ?? 500;
        this.opts.onAttempt?.(true);
        this.opts.onBacklog?.(this.queued);
        continue;
      }
      this.opts.onAttempt?.(false, error);
      // Full jitter keeps many monitors from hammering a receiver that comes back.
      await this.pause(delay / 2 + Math.random() * (delay / 2));
      delay = Math.min(delay * 2, this.opts.maxRetryMs ?? 60_000);
    }
  }

  private async post(body: string): Promise<string | null> {
    try {
      const res = await (this.opts.fetch ?? globalThis.fetch)(this.opts.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `webhook answered ${res.status}`;
    } catch (e) {
      return `webhook: ${e instanceof Error ? e.message : e}`;
    }
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => {
        if (this.stopped) {
          clearTimeout(t);
          r();
        }
      };
    });
    this.wake = null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
