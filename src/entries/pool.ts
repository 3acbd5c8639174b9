/**
 * The admission pool: Rekor admission (JSON parsing, key loading, signature verification,
 * canonicalization) on worker threads, so that it runs on every core while the main thread
 * serves HTTP and sequences. Requests that arrive in the same turn of the event loop go to a
 * worker as one message (batch.ts), so messaging costs a few µs per batch rather than per entry;
 * signature verification alone is hundreds of µs.
 *
 * Contract: admit() resolves with exactly what admitCreateEntry(parseJson(raw), opts) returns,
 * and rejects with a LogError of the same code and message when that throws one (so refusals
 * are the same 4xx, with the same one-line reason, as inline admission). When a worker dies
 * with requests in flight, those requests are refused with 'unavailable' (503: the client may
 * retry; nothing was logged) and the worker is replaced. After close(), admit() refuses with
 * 'unavailable'.
 *
 * Owned by AdmissionPool: the workers, the requests queued for the next batch, the batches in
 * flight on each worker.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

import { LogError } from '../errors.ts';
import { type Answer, item, type Job, pack } from './batch.ts';
import type { AdmitOptions, Admitted } from './hashedrekord.ts';

/** AdmissionPoolOptions configures an admission pool. */
export interface AdmissionPoolOptions {
  /** size is the number of workers (default: one per core less one, at least one). */
  readonly size?: number;
  /** maxBatch is the most requests one message carries (default 64). */
  readonly maxBatch?: number;
  /** workerUrl is the worker script (default: worker.js beside this module, as built). */
  readonly workerUrl?: URL;
}

interface Waiting {
  readonly raw: Uint8Array;
  resolve(a: Admitted): void;
  reject(e: unknown): void;
}

interface Thread {
  readonly worker: Worker;
  /** inflight holds the requests of each batch sent and not yet answered, by job id. */
  readonly inflight: Map<number, Waiting[]>;
  queued: number;
  answered: boolean;
}

// Under vitest the sources run as .ts, which a worker thread cannot load on Node 20: the worker
// then runs the build's copy of the same code (npm test builds first).
function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('../../dist/entries/worker.js', here);
  return new URL('./worker.js', here);
}

/** defaultPoolSize is one worker per core less one (the main thread's), at least one. */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** AdmissionPool admits CreateEntryRequests on worker threads; see the module comment. */
export class AdmissionPool {
  private readonly opts: AdmitOptions;
  private readonly maxBatch: number;
  private readonly url: URL;
  private readonly threads: Thread[] = [];
  private queue: Waiting[] = [];
  private nextId = 0;
  private scheduled = false;
  private closed = false;

  constructor(opts: AdmitOptions, o: AdmissionPoolOptions = {}) {
    this.opts = { allowedKeyDetails: [...opts.allowedKeyDetails], acceptDsse: opts.acceptDsse };
    this.maxBatch = o.maxBatch ?? 64;
    this.url = o.workerUrl ?? defaultWorkerUrl();
    const size = o.size ?? defaultPoolSize();
    for (let i = 0; i < size; i++) this.threads.push(this.spawn());
  }

  /** size is the number of workers. */
  get size(): number {
    return this.threads.length;
  }

  /** admit admits one request body (protojson bytes); see the module comment. */
  admit(raw: Uint8Array): Promise<Admitted> {
    if (this.closed) return Promise.reject(closing());
    return new Promise<Admitted>((resolve, reject) => {
      this.queue.push({ raw, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // After the current I/O phase: every request parsed in it joins the batch.
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  /** close refuses what is queued or in flight with 'unavailable' and stops every worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const e = closing();
    for (const w of this.queue.splice(0)) w.reject(e);
    for (const t of this.threads) this.failInflight(t, e);
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  // flush shares what is queued among the workers, least loaded first, in batches.
  private flush(): void {
    while (this.queue.length > 0 && !this.closed) {
      const share = Math.ceil(this.queue.length / this.threads.length);
      const batch = this.queue.splice(0, Math.min(this.maxBatch, share));
      const t = this.threads.reduce((a, b) => (b.queued < a.queued ? b : a));
      const id = this.nextId++;
      const { data, ends } = pack(batch.map((w) => w.raw));
      t.inflight.set(id, batch);
      t.queued += batch.length;
      const job: Job = { id, data, ends };
      t.worker.postMessage(job, [data.buffer as ArrayBuffer]);
    }
  }

  private spawn(): Thread {
    const worker = new Worker(this.url, { workerData: this.opts, execArgv: workerExecArgv() });
    const t: Thread = { worker, inflight: new Map(), queued: 0, answered: false };
    worker.on('message', (a: Answer) => this.answered(t, a));
    // An uncaught exception in the worker: 'exit' follows and does the work.
    worker.on('error', () => undefined);
    worker.on('exit', () => this.died(t));
    return t;
  }

  private answered(t: Thread, a: Answer): void {
    const batch = t.inflight.get(a.id);
    if (!batch) return;
    t.inflight.delete(a.id);
    t.queued -= batch.length;
    t.answered = true;
    batch.forEach((w, i) => {
      const v = a.verdicts[i]!;
      if ('kind' in v) w.resolve({ body: item(a.bodies, i), kind: v.kind, version: v.version });
      else if ('code' in v) w.reject(new LogError(v.code, v.message));
      else w.reject(new Error(`admission worker: ${v.bug}`));
    });
  }

  // A worker that exits while the pool is open died: what it held is refused, and a new worker
  // takes its place (after a second if it never answered anything, so a worker that cannot
  // start does not spin).
  private died(t: Thread): void {
    if (this.closed) return;
    this.failInflight(
      t,
      new LogError('unavailable', 'admission: a worker thread failed; retry later'),
    );
    const replace = () => {
      if (this.closed) return;
      this.threads[this.threads.indexOf(t)] = this.spawn();
      this.flush();
    };
    if (t.answered) replace();
    else setTimeout(replace, 1000).unref();
  }

  private failInflight(t: Thread, e: LogError): void {
    for (const batch of t.inflight.values()) for (const w of batch) w.reject(e);
    t.inflight.clear();
    t.queued = 0;
  }
}

// A worker inherits the process's node flags (--cpu-prof profiles it too), except that a worker's
// file refuses --input-type: then the flags are passed without it. Passed flags must not include
// V8 options (--max-old-space-size: the Worker constructor throws), which are process-wide anyway.
function workerExecArgv(): string[] | undefined {
  const argv = process.execArgv;
  if (!argv.some((a) => a.startsWith('--input-type'))) return undefined;
  return argv.filter((a) => !a.startsWith('--input-type'));
}

function closing(): LogError {
  return new LogError('unavailable', 'admission: the server is shutting down');
}
