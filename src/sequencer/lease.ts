/**
 * The sequencer lease: which one of the instances serving a log on S3 sequences it. Owned by
 * Lease: the lease record this process last read or wrote, when it first saw that version, and
 * whether (and until when) it holds the lease. The lease is one object, `lease` beside the log,
 * holding the holder's id, the URL where the others reach it, and an expiry; it is created with
 * If-None-Match: * and renewed or taken over with If-Match on the version last read.
 *
 * Contract:
 * - Liveness, not safety. The lease decides who tries to commit; the lock's compare-and-swap
 *   decides whose commit lands. A holder that is paused, partitioned or slow past its lease can
 *   still send one commit it had started, but that commit expects the lock it last read: if
 *   anyone else committed meanwhile it fails with 'conflict', and there is never a fork.
 * - Expiry is measured on each instance's own monotonic clock, never by comparing wall clocks.
 *   A holder stops calling itself sequencer at (start of its last successful renewal) + leaseMs
 *   - margin. Another instance takes over only after it has seen the same version of the object
 *   unchanged for leaseMs, counted from when it first read it, which is after that renewal
 *   started. So with clocks that run at the same rate, the old holder has stopped `margin`
 *   before anyone takes over, whatever their wall clocks say. The `expires` field is wall-clock
 *   time and is for operators only; nothing compares it.
 * - A renewal that fails with a storage error is retried at every tick until the lease runs out
 *   on the holder's clock; isSequencer() turns false at validUntil on its own, so commits stop
 *   before the lease can expire for the others. A renewal refused (412) means someone else took
 *   it: step down at once.
 * - A lease object that does not parse is never overwritten: the instance stays a frontend and
 *   reports itself unhealthy until an operator repairs or deletes it.
 * - A record naming this instance's own id (a renewal whose answer was lost) is taken back at
 *   once, and a released record (empty holder, written on a clean shutdown) is free at once.
 */
import { decodeUtf8, equal, utf8 } from '../bytes.ts';
import { assert, LogError } from '../errors.ts';
import type { Commit, LogStore, VersionedObjects } from '../storage/index.ts';
import { type Clock, systemClock } from './clock.ts';

/** LEASE_KEY is where the lease object lives, beside the log's tiles under the same prefix. */
export const LEASE_KEY = 'lease';

/** LeaseRecord is the lease object: holder id ('' once released), its URL, advisory expiry. */
export interface LeaseRecord {
  readonly holder: string;
  /** url is the holder's advertised base URL (scheme, host, port; no path). */
  readonly url: string;
  /** expires is the holder's wall-clock expiry in Unix milliseconds (for operators only). */
  readonly expires: number;
}

const HOLDER = /^[A-Za-z0-9._:-]{0,64}$/;

function corrupt(why: string): LogError {
  return new LogError('corrupt', `lease: the lease object ${why}`);
}

/** formatLease returns the canonical bytes of a lease record: one line of JSON. */
export function formatLease(r: LeaseRecord): Uint8Array {
  return utf8(JSON.stringify({ holder: r.holder, url: r.url, expires: r.expires }) + '\n');
}

/** parseLease parses formatLease's output strictly, or throws a 'corrupt' LogError. */
export function parseLease(b: Uint8Array): LeaseRecord {
  const text = decodeUtf8(b);
  if (text === null) throw corrupt('is not UTF-8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw corrupt('is not JSON');
  }
  if (typeof v !== 'object' || v === null) throw corrupt('is not a JSON object');
  const { holder, url, expires } = v as Record<string, unknown>;
  if (typeof holder !== 'string' || !HOLDER.test(holder)) throw corrupt('has a bad holder');
  if (typeof url !== 'string' || (url !== '' && !isBaseUrl(url))) throw corrupt('has a bad url');
  if (typeof expires !== 'number' || !Number.isSafeInteger(expires) || expires < 0)
    throw corrupt('has a bad expiry');
  const r = { holder, url, expires };
  if (!equal(formatLease(r), b)) throw corrupt('is not in canonical form');
  return r;
}

/** isBaseUrl reports whether s is an http(s) URL with no path, query, fragment or credentials. */
export function isBaseUrl(s: string): boolean {
  if (!URL.canParse(s)) return false;
  const u = new URL(s);
  return (
    (u.protocol === 'http:' || u.protocol === 'https:') &&
    u.username === '' &&
    u.password === '' &&
    u.search === '' &&
    u.hash === '' &&
    u.origin === s
  );
}

/** LeaseRole is what an instance does for the log: sequence it, or admit and forward. */
export type LeaseRole = 'sequencer' | 'frontend';

/** LeaseInfo is what operators see (healthz, metrics). */
export interface LeaseInfo {
  readonly role: LeaseRole;
  /** holder and url of the lease as last read or written; null when there is none or unreadable. */
  readonly holder: string | null;
  readonly url: string | null;
  /** ageMs is how long ago the current holder last renewed, as far as this instance knows. */
  readonly ageMs: number | null;
  /** healthy is false while the lease object cannot be parsed. */
  readonly healthy: boolean;
}

/** LeaseEvents observe lease changes (pino logs, metrics); they must not throw. */
export interface LeaseEvents {
  changed?(info: LeaseInfo, reason: string): void;
  unreadable?(err: LogError): void;
}

/** DEFAULT_LEASE_MS is LeaseOptions.leaseMs's default, and serve --lease-ms's. */
export const DEFAULT_LEASE_MS = 5000;

/** LeaseOptions configures a lease. */
export interface LeaseOptions {
  readonly store: VersionedObjects;
  /** id names this instance in the lease; unique per process. */
  readonly id: string;
  /** url is this instance's advertised base URL. */
  readonly url: string;
  /** leaseMs is how long a lease lasts without renewal (DEFAULT_LEASE_MS). */
  readonly leaseMs?: number;
  /** clock is injected so tests control time (clock.ts; expiry uses its monotonic()). */
  readonly clock?: Clock;
  readonly events?: LeaseEvents;
}

interface Seen {
  readonly version: string;
  readonly record: LeaseRecord;
  /** since is when this instance first read this version, on its monotonic clock. */
  readonly since: number;
}

/** Lease elects one sequencer among the instances sharing a log; see the contract above. */
export class Lease {
  readonly id: string;
  readonly leaseMs: number;
  /** margin is how long before its lease runs out a holder stops calling itself sequencer. */
  readonly margin: number;
  private readonly store: VersionedObjects;
  private readonly clock: Clock;
  private readonly events: LeaseEvents;
  private held: { version: string; validUntil: number; renewedAt: number } | null = null;
  private seen: Seen | null = null;
  private unreadable: LogError | null = null;
  private running: Promise<void> | null = null;
  private cancel: (() => void) | undefined;
  private stopped = false;
  private lastRole: LeaseRole = 'frontend';
  private url: string;

  constructor(opts: LeaseOptions) {
    this.store = opts.store;
    this.id = opts.id;
    this.url = opts.url;
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    this.margin = Math.floor(this.leaseMs / 4);
    this.clock = opts.clock ?? systemClock;
    this.events = opts.events ?? {};
    assert(HOLDER.test(this.id) && this.id !== '', 'lease id');
  }

  /** isSequencer reports whether this instance holds the lease now and may commit. */
  isSequencer(): boolean {
    return this.held !== null && this.clock.monotonic() < this.held.validUntil;
  }

  /** info is the lease as this instance sees it. */
  get info(): LeaseInfo {
    const role: LeaseRole = this.isSequencer() ? 'sequencer' : 'frontend';
    const r = this.unreadable ? null : this.seen?.record;
    const holder = r && r.holder !== '' ? r : null;
    const since = this.held?.renewedAt ?? this.seen?.since;
    return {
      role,
      holder: holder?.holder ?? null,
      url: holder?.url ?? null,
      ageMs: holder && since !== undefined ? Math.max(0, this.clock.monotonic() - since) : null,
      healthy: this.unreadable === null,
    };
  }

  /** advertise sets this instance's URL (known once it listens); call it before start(). */
  advertise(url: string): void {
    this.url = url;
  }

  /** sequencerUrl is the advertised URL of the holder the last read found, if any. */
  get sequencerUrl(): string | null {
    return this.info.url;
  }

  /** tick runs one step: renew when holding, otherwise read the lease and maybe take it. */
  tick(): Promise<void> {
    // One step at a time. A tick that comes while one is still running (slow storage) is
    // skipped, not queued: queued steps would act on reads older than the tick interval.
    if (this.running) return this.running;
    const run = this.step();
    this.running = run.catch(() => undefined).finally(() => (this.running = null));
    return run;
  }

  /**
   * start ticks every leaseMs/16 (at most 250 ms) until stop(): a takeover comes at most two
   * ticks after the lease has run out on the taker's clock.
   */
  start(): void {
    const every = Math.min(250, Math.max(10, Math.floor(this.leaseMs / 16)));
    const loop = () => {
      if (this.stopped) return;
      this.cancel = this.clock.after(every, loop);
      void this.tick();
    };
    loop();
  }

  /** stepDown gives up the role now (a commit showed someone else sequencing); it writes nothing. */
  stepDown(reason: string): void {
    if (!this.held) return;
    this.held = null;
    this.seen = null;
    this.announce(reason);
  }

  /** stop ends ticking and, when holding, releases the lease so another may take it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.running;
    const held = this.held;
    if (!held) return;
    this.held = null;
    const released = formatLease({ holder: '', url: '', expires: 0 });
    await this.store.putIfVersion(LEASE_KEY, released, held.version).catch(() => undefined);
    this.announce('released on shutdown');
  }

  private async step(): Promise<void> {
    if (this.held) {
      if (this.clock.monotonic() >= this.held.validUntil)
        this.stepDown('lease ran out before renewal');
      else if (this.clock.monotonic() >= this.held.renewedAt + this.leaseMs / 4) await this.renew();
      if (this.held) return;
    }
    await this.observe();
  }

  private record(): Uint8Array {
    return formatLease({
      holder: this.id,
      url: this.url,
      expires: this.clock.now() + this.leaseMs,
    });
  }

  private async renew(): Promise<void> {
    const held = this.held!;
    const started = this.clock.monotonic();
    try {
      const version = await this.store.putIfVersion(LEASE_KEY, this.record(), held.version);
      if (this.held !== held) return; // stepped down meanwhile: stay down
      this.hold(version, started);
    } catch (err) {
      if (err instanceof LogError && err.code === 'conflict')
        return this.stepDown('lease taken by another instance');
      // Storage trouble: keep trying until validUntil; isSequencer() already stops then.
      if (this.clock.monotonic() >= held.validUntil) this.stepDown('lease renewal failed');
    }
  }

  private hold(version: string, started: number): void {
    this.held = { version, validUntil: started + this.leaseMs - this.margin, renewedAt: started };
    const record = { holder: this.id, url: this.url, expires: 0 };
    this.seen = { version, record, since: started };
    this.announce('acquired');
  }

  private async observe(): Promise<void> {
    let cur;
    try {
      cur = await this.store.getVersioned(LEASE_KEY);
    } catch {
      return; // storage trouble: stay a frontend and read again at the next tick
    }
    if (!cur) return this.acquire(null);
    let record: LeaseRecord;
    try {
      record = parseLease(cur.bytes);
    } catch (err) {
      if (!this.unreadable) this.events.unreadable?.(err as LogError);
      this.unreadable = err as LogError;
      this.seen = null;
      return this.announce('lease object unreadable');
    }
    const wasUnreadable = this.unreadable !== null;
    this.unreadable = null;
    const now = this.clock.monotonic();
    if (this.seen?.version !== cur.version) {
      const other = this.seen?.record.holder !== record.holder;
      this.seen = { version: cur.version, record, since: now };
      if (other || wasUnreadable) this.announce('lease changed hands');
    }
    const free = record.holder === '' || record.holder === this.id;
    if (free || now - this.seen.since >= this.leaseMs) await this.acquire(cur.version);
  }

  private async acquire(version: string | null): Promise<void> {
    const started = this.clock.monotonic();
    try {
      this.hold(await this.store.putIfVersion(LEASE_KEY, this.record(), version), started);
    } catch {
      // Lost the race (or unknown outcome): read again at the next tick. A write that did land
      // names our id, and the next read takes it back; one that lost shows a new version, whose
      // wait starts afresh. A storage error left the version as it was: keep when it was first
      // seen, so the wait is not restarted by a failed attempt.
    }
  }

  private announce(reason: string): void {
    const info = this.info;
    const changed = info.role !== this.lastRole;
    this.lastRole = info.role;
    if (changed || reason !== 'acquired') this.events.changed?.(info, reason);
  }
}

// A store that commits only while this instance holds the lease: the integrator stops before
// the lease can run out for the others, whatever it was doing when the process was paused.
/** LeasedStore commits through store only while lease is held (see above); reads pass through. */
export class LeasedStore implements LogStore {
  private readonly store: LogStore;
  private readonly lease: Lease;
  constructor(store: LogStore, lease: Lease) {
    this.store = store;
    this.lease = lease;
  }
  get = (key: string) => this.store.get(key);
  getMany = (keys: readonly string[]) => this.store.getMany(keys);
  readLock = () => this.store.readLock();
  close = () => this.store.close();
  async commit(c: Commit): Promise<void> {
    if (!this.lease.isSequencer())
      throw new LogError('unavailable', 'sequencer: the lease is not held');
    try {
      await this.store.commit(c);
    } catch (err) {
      // The lock moved under us: most likely another instance sequences now (this one was
      // paused or partitioned past its lease). Step down; if the lease still names this
      // instance, the next tick takes it back at once and the integrator reloads.
      if (err instanceof LogError && err.code === 'conflict')
        this.lease.stepDown('a commit lost the lock to another writer');
      throw err;
    }
  }
}
