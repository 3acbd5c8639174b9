/**
 * The witness's log list: a file or an http(s) URL in the witness config format (one `log` line
 * per log), polled so that logs are added and removed without a restart. Each poll that reads
 * new text replaces the witnessed logs at once; the recorded state of a removed log stays, so
 * adding it back resumes from its last cosigned checkpoint. A list that cannot be read or does
 * not parse changes nothing: the previous list stays in force and the failure is reported.
 */
import { readFile } from 'node:fs/promises';

import { LogError } from '../errors.ts';
import { parseWitnessConfig } from './config.ts';
import type { Witness, WitnessedLog } from './witness.ts';

/** LogListEvents observe polls, for logs and metrics; they must not throw. */
export interface LogListEvents {
  /** loaded: a new list is in force, with logs witnessed in all (config and list). */
  loaded?(info: { logs: number; added: string[]; removed: string[] }): void;
  /** failed: a poll kept the previous list, and why (one line). */
  failed?(reason: string): void;
}

/** LogListOptions configures a LogList. */
export interface LogListOptions {
  /** source is a file path or an http:// or https:// URL. */
  readonly source: string;
  readonly witness: Witness;
  /** fixed are the logs of the witness config file, witnessed whatever the list says. */
  readonly fixed?: readonly WitnessedLog[];
  /** intervalMs is the time between polls (default 60,000). */
  readonly intervalMs?: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly events?: LogListEvents;
}

/** MAX_LIST_BYTES bounds a log list read from a URL. */
const MAX_LIST_BYTES = 4 << 20;

/** LogList polls a log list and applies it to a Witness. */
export class LogList {
  private readonly opts: LogListOptions;
  private last: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(opts: LogListOptions) {
    this.opts = opts;
  }

  /** open reads the list once, throwing a bad_request LogError if that fails, and starts polling. */
  static async open(opts: LogListOptions): Promise<LogList> {
    let failure = '';
    const list = new LogList({
      ...opts,
      events: {
        loaded: (info) => opts.events?.loaded?.(info),
        failed: (reason) => {
          failure = reason;
          opts.events?.failed?.(reason);
        },
      },
    });
    if (!(await list.poll())) throw new LogError('bad_request', failure);
    list.start();
    return list;
  }

  /** poll reads the list once and applies it if it changed; false when it kept the old one. */
  async poll(): Promise<boolean> {
    const { witness, fixed = [], events } = this.opts;
    let text: string;
    let logs: WitnessedLog[];
    try {
      text = await this.read();
      if (text === this.last) return true;
      logs = parseWitnessConfig(text, { allowEmpty: true });
      const twice = logs.find((l) => fixed.some((f) => f.origin === l.origin));
      if (twice) throw new LogError('bad_request', `origin ${twice.origin} is also in the config`);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      events?.failed?.(`log list ${this.opts.source}: ${why.split('\n')[0]}`);
      return false;
    }
    const { added, removed } = witness.setLogs([...fixed, ...logs]);
    this.last = text;
    events?.loaded?.({ logs: fixed.length + logs.length, added, removed });
    return true;
  }

  /** start polls every intervalMs until stop; polls never overlap. */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.poll().finally(tick), this.opts.intervalMs ?? 60_000);
      this.timer.unref?.();
    };
    tick();
  }

  /** stop ends polling. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async read(): Promise<string> {
    const src = this.opts.source;
    if (!/^https?:\/\//.test(src)) return readFile(src, 'utf8');
    const fetch = this.opts.fetch ?? globalThis.fetch;
    const res = await fetch(src, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`HTTP status ${res.status}`);
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.length > MAX_LIST_BYTES) throw new Error(`over ${MAX_LIST_BYTES} bytes`);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    return text;
  }
}
