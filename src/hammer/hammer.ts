/**
 * tilelog hammer: load and verification for any tlog-tiles log (as Tessera's hammer is for
 * Tessera logs). Writes and reads are issued open-loop at the asked rates, each capped by a
 * number in flight, through the platform's fetch (undici on Node); every answer is verified
 * (verify.ts). The result is the one JSON line the CLI prints.
 */
import { TlogClient } from '../client/index.ts';
import type { NoteVerifier } from '../note/index.ts';
import { ENTRIES, type Tile, TILE_WIDTH, tileAt, tilePath } from '../tiles/index.ts';
import { Stats, statusLine } from './stats.ts';
import { Verifier } from './verify.ts';
import { rawWriter, rekorWriter, type Write } from './writer.ts';

/** HammerOptions says which log to load, how hard and for how long. */
export interface HammerOptions {
  /** url is the log's prefix (`${url}/checkpoint`, `${url}/tile/…`, `${url}/add`). */
  readonly url: string;
  /** verifiers check checkpoint signatures; with none, checkpoints are parsed unverified. */
  readonly verifiers: readonly NoteVerifier[];
  readonly writeRate: number;
  readonly readRate: number;
  /** rekor writes signed hashedrekord requests to `log/entries` instead of raw `add`. */
  readonly rekor: boolean;
  readonly durationMs: number;
  /** maxInFlight caps outstanding requests of each kind (default 256). */
  readonly maxInFlight?: number;
  readonly fetch?: typeof globalThis.fetch;
  /** status receives a live line about once a second. */
  readonly status?: (line: string) => void;
}

/** HammerResult is the summary line; failures lists the first verification failures. */
export interface HammerResult {
  readonly writes: number;
  readonly reads: number;
  readonly errors: number;
  readonly verifyFailures: number;
  readonly writeRate: number;
  readonly readRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failures: readonly string[];
  readonly errorKinds: Readonly<Record<string, number>>;
}

const TICK_MS = 50;

/** runHammer loads the log for durationMs, then checks every acknowledged entry, and reports. */
export async function runHammer(opts: HammerOptions): Promise<HammerResult> {
  const url = opts.url.replace(/\/+$/, '');
  const get = opts.fetch ?? ((...a) => globalThis.fetch(...a));
  const stats = new Stats();
  const client = new TlogClient({ url, verifiers: opts.verifiers, fetch: get });
  const verifier = new Verifier(client, opts.verifiers, stats);
  const next = opts.rekor ? rekorWriter() : rawWriter();
  const cap = opts.maxInFlight ?? 256;
  const inFlight = { writes: 0, reads: 0 };
  const tasks = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    tasks.add(p);
    void p.finally(() => tasks.delete(p));
  };

  const timed = async (path: string, init?: RequestInit) => {
    const t0 = performance.now();
    const res = await get(`${url}/${path}`, init);
    const body = new Uint8Array(await res.arrayBuffer());
    return { res, body, ms: performance.now() - t0 };
  };

  const write = async (w: Write) => {
    try {
      const { res, body, ms } = await timed(w.path, {
        method: 'POST',
        body: w.body,
        headers: { 'Content-Type': w.contentType },
      });
      if (res.status !== w.okStatus) return stats.error(`write ${res.status}`);
      let ack;
      try {
        ack = w.parse(JSON.parse(new TextDecoder().decode(body)));
      } catch (err) {
        return stats.verifyFailure(`write answer: ${err instanceof Error ? err.message : err}`);
      }
      stats.write(ms);
      verifier.acknowledged(ack);
    } catch {
      stats.error('write network');
    }
  };

  const read = async () => {
    const size = verifier.latest?.size ?? 0;
    const pick = Math.random();
    try {
      if (pick < 0.34 || size === 0) {
        const startedAt = performance.now();
        const { res, body, ms } = await timed('checkpoint');
        if (res.status !== 200) return stats.error(`checkpoint ${res.status}`);
        stats.read(ms);
        await verifier.observe(new TextDecoder().decode(body), startedAt);
        return;
      }
      const level = pick < 0.67 ? 0 : ENTRIES;
      const n = Math.floor(Math.random() * Math.ceil(size / TILE_WIDTH));
      const tile: Tile = tileAt(level, n, size)!;
      const { res, body, ms } = await timed(tilePath(tile));
      if (res.status !== 200)
        return stats.error(`${level === ENTRIES ? 'bundle' : 'tile'} ${res.status}`);
      stats.read(ms);
      if (level === 0 && body.length !== tile.width * 32)
        return stats.verifyFailure(`${tilePath(tile)} has ${body.length} bytes`);
      if (tile.width === TILE_WIDTH) verifier.immutable(tilePath(tile), body);
    } catch {
      stats.error('read network');
    }
  };

  const start = performance.now();
  let issued = { writes: 0, reads: 0 };
  let last = { writes: 0, reads: 0, at: start };
  while (performance.now() - start < opts.durationMs) {
    const elapsed = (performance.now() - start) / 1000;
    const due = {
      writes: Math.floor(opts.writeRate * elapsed) - issued.writes,
      reads: Math.floor(opts.readRate * elapsed) - issued.reads,
    };
    for (let i = 0; i < due.writes && inFlight.writes < cap; i++) {
      inFlight.writes++;
      track(write(next()).finally(() => inFlight.writes--));
    }
    for (let i = 0; i < due.reads && inFlight.reads < cap; i++) {
      inFlight.reads++;
      track(read().finally(() => inFlight.reads--));
    }
    // Requests not sent because the cap was reached are skipped, not queued (open loop).
    issued = { writes: issued.writes + due.writes, reads: issued.reads + due.reads };
    const now = performance.now();
    if (opts.status && now - last.at >= 1000) {
      opts.status(statusLine(stats, last, now - last.at));
      last = { writes: stats.writes, reads: stats.reads, at: now };
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(tasks);
  await finish(verifier, stats, get, url);
  return {
    writes: stats.writes,
    reads: stats.reads,
    errors: stats.errors,
    verifyFailures: stats.verifyFailures,
    writeRate: Math.round((stats.writes / seconds) * 10) / 10,
    readRate: Math.round((stats.reads / seconds) * 10) / 10,
    p50Ms: Math.round(stats.percentile(50) * 100) / 100,
    p99Ms: Math.round(stats.percentile(99) * 100) / 100,
    failures: stats.failures,
    errorKinds: Object.fromEntries(stats.errorKinds),
  };
}

// A last checkpoint, so that every acknowledged entry is covered, then every one is looked up.
async function finish(verifier: Verifier, stats: Stats, get: typeof fetch, url: string) {
  for (let tries = 0; tries < 8; tries++) {
    const startedAt = performance.now();
    const res = await get(`${url}/checkpoint`).catch(() => null);
    if (res?.ok) await verifier.observe(await res.text(), startedAt);
    await verifier.findAcknowledged();
    if (verifier.unchecked === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const n = verifier.unchecked;
  stats.verifyFailure(`${n} acknowledged entries are beyond every checkpoint the log serves`);
}
