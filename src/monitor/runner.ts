/**
 * The monitor's pass over every log it follows: for each target, load its saved position, step
 * it to the log's current checkpoint (monitorStep), queue every match in the outbox before the
 * new position is saved, and update the metrics. A target whose signing window has ended is read
 * one last time past FINISH_GRACE_MS, then marked finished; a target first seen after the first
 * run is followed from its first entry. An inconsistency is an ALARM: it is printed, counted and
 * queued for the webhook, and the pass says so (the command then exits 2, as before).
 */
import { createHash } from 'node:crypto';
import { access, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { toBase64 } from '../bytes.ts';
import { TlogClient } from '../client/index.ts';
import { LogError } from '../errors.ts';
import { parseJsonExact } from '../json.ts';
import { formatCheckpoint, type NoteVerifier } from '../note/index.ts';
import type { EntrySummary } from './facts.ts';
import type { MonitorMetrics } from './metrics.ts';
import { loadMonitorState, monitorStep, saveMonitorState } from './monitor.ts';
import { notificationId, type Outbox } from './outbox.ts';
import type { Rule } from './rules.ts';

/** FINISH_GRACE_MS is how long after its window ends a shard is still followed. */
export const FINISH_GRACE_MS = 60_000;

/** Target is one log to follow. */
export interface Target {
  readonly url: string;
  readonly verifiers: readonly NoteVerifier[];
  readonly end?: Date;
  /** file names the position file in the state directory (default: from the URL). */
  readonly file?: string;
  /** probe: the tiles may be under `${url}/api/v2` (tilelog's default prefix) rather than `${url}`. */
  readonly probe?: boolean;
}

/** RunnerOptions say what to follow and where to report. */
export interface RunnerOptions {
  readonly stateDir: string;
  readonly rules: readonly Rule[];
  readonly from: 'now' | 'start';
  readonly outbox?: Outbox;
  readonly metrics?: MonitorMetrics;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => Date;
  /** print writes one JSON line per matching entry; warn one line of trouble. */
  print(line: string): void;
  warn(line: string): void;
  progress?(done: number, total: number): void;
}

/** PassResult is how a pass went: ok, some log failed (retried later), or an alarm. */
export type PassResult = 'ok' | 'failed' | 'alarm';

const fileOf = (t: Target) =>
  t.file ?? `shard-${createHash('sha256').update(t.url).digest('hex').slice(0, 16)}.json`;

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Runner follows a changing set of logs, pass by pass. */
export class Runner {
  private readonly opts: RunnerOptions;
  private readonly clients = new Map<string, TlogClient>();
  private firstRun: boolean | null = null;

  constructor(opts: RunnerOptions) {
    this.opts = opts;
  }

  /** pass steps every target once. */
  async pass(targets: readonly Target[]): Promise<PassResult> {
    this.firstRun ??= !(await readdir(this.opts.stateDir)).some((f) => f.endsWith('.json'));
    let result: PassResult = 'ok';
    for (const t of targets) {
      const r = await this.step(t);
      if (r === 'alarm') return r;
      if (r === 'failed') result = r;
    }
    this.firstRun = false;
    return result;
  }

  private async step(t: Target): Promise<PassResult> {
    const file = join(this.opts.stateDir, fileOf(t));
    const now = this.opts.now?.() ?? new Date();
    const ended = t.end !== undefined && now.getTime() > t.end.getTime() + FINISH_GRACE_MS;
    if (ended && (await exists(file + '.finished'))) return 'ok';
    let saved: Awaited<ReturnType<typeof loadMonitorState>> = null;
    let origin = '';
    let seen = ''; // the checkpoint the step read (the evidence of an alarm)
    try {
      saved = await loadMonitorState(file, t.verifiers);
      if (ended && !saved) return 'ok'; // ended before we ever read it
      const client = await this.client(t);
      const o = this.opts;
      let read = saved?.edge.size ?? null;
      origin = saved?.note.slice(0, saved.note.indexOf('\n')) ?? '';
      const state = await monitorStep(
        client,
        saved,
        o.rules,
        {
          checkpoint: (cp) => {
            origin = cp.origin;
            seen = formatCheckpoint(cp);
          },
          match: (index, s, rules, entry) => this.report(t, origin, index, s, rules, entry),
          progress: (done, total) => {
            if (read !== null) o.metrics?.read(t.url, done - read);
            read = done;
            o.metrics?.lag(t.url, total - done);
            o.progress?.(done, total);
          },
        },
        this.firstRun ? o.from : 'start',
      );
      await saveMonitorState(file, state);
      // Saved: a restart reads on from here, so no match below it can be found again.
      await o.outbox?.forget(t.url, state.edge.size);
      if (ended) {
        await writeFile(file + '.finished', `${state.edge.size}\n`);
        o.warn(`monitor: ${t.url} finished at size ${state.edge.size} (its window has ended)`);
      }
      return 'ok';
    } catch (err) {
      if (err instanceof LogError && err.code === 'corrupt') {
        await this.alarm(t, origin || t.url, saved?.edge.size ?? 0, seen, err.message);
        return 'alarm';
      }
      if (err instanceof LogError && err.code === 'fatal') throw err;
      this.opts.warn(`monitor: ${t.url}: ${err instanceof Error ? err.message : err} (will retry)`);
      return 'failed';
    }
  }

  // The tiles of a Rekor v2 shard are at its base URL; tilelog serves them under /api/v2.
  private async client(t: Target): Promise<TlogClient> {
    const known = this.clients.get(t.url);
    if (known) return known;
    const make = (url: string) =>
      new TlogClient({
        url,
        verifiers: t.verifiers,
        ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      });
    let c = make(t.url);
    if (t.probe) {
      try {
        await c.checkpoint();
      } catch (e) {
        if (!(e instanceof LogError && e.code === 'not_found')) throw e;
        c = make(`${t.url}/api/v2`);
      }
    }
    this.clients.set(t.url, c);
    return c;
  }

  private async report(
    t: Target,
    origin: string,
    index: number,
    s: EntrySummary,
    rules: Rule[],
    bytes: Uint8Array,
  ): Promise<void> {
    const { kind, digest, publicKeys, subjects, sans } = s;
    const matched = rules.map((r) => r.name);
    this.opts.print(
      JSON.stringify({ log: t.url, index, kind, digest, matched, publicKeys, subjects, sans }),
    );
    for (const r of rules) this.opts.metrics?.matched(t.url, r.name);
    const outbox = this.opts.outbox;
    if (!outbox) return;
    let entry: unknown;
    try {
      entry = parseJsonExact(new TextDecoder().decode(bytes));
    } catch {
      entry = toBase64(bytes);
    }
    const summary = { ...s, certificates: s.certificates.map(certJson) };
    for (const r of rules)
      await outbox.add({
        id: notificationId('match', origin, index, r.name),
        type: 'match',
        origin,
        url: t.url,
        index,
        rule: r.name,
        entry,
        summary,
      });
  }

  // An alarm's id names the verified position and the checkpoint that contradicts it: the same
  // split view found again (each pass, each restart) is the same alarm, a new one another.
  private async alarm(
    t: Target,
    origin: string,
    size: number,
    checkpoint: string,
    reason: string,
  ): Promise<void> {
    this.opts.warn(`ALARM: ${reason}`);
    this.opts.metrics?.alarm(t.url);
    await this.opts.outbox?.add({
      id: notificationId('alarm', origin, size, checkpoint),
      type: 'alarm',
      origin,
      url: t.url,
      index: size,
      reason,
      ...(checkpoint ? { checkpoint } : {}),
    });
  }
}

function certJson(c: EntrySummary['certificates'][number]) {
  return { ...c, extensions: Object.fromEntries(c.extensions) };
}
