// Runs `tilelog serve` as a child process (the built CLI, as a user would), for crash and
// cluster tests: one way to start one, shared by every test that kills, pauses or restarts it.
import { type ChildProcess, spawn } from 'node:child_process';

export interface Child {
  readonly proc: ChildProcess;
  /** url is where it serves the log (with the API prefix); base is its origin (healthz, metrics). */
  readonly url: string;
  readonly base: string;
  readonly vkey: string;
  output(): string;
}

export interface ChildOptions {
  /** env is added to this process's environment (e.g. TILELOG_CLUSTER_SECRET). */
  readonly env?: Record<string, string>;
  /** startMs bounds the wait for the "serving" line (default 30,000). */
  readonly startMs?: number;
}

/**
 * startChild starts `tilelog serve --data dataDir --listen 127.0.0.1:0` with extra flags (and
 * `--origin crash.test/log` unless extra names one), and resolves once it serves.
 */
export async function startChild(
  dataDir: string,
  extra: string[] = [],
  opts: ChildOptions = {},
): Promise<Child> {
  const origin = extra.includes('--origin') ? [] : ['--origin', 'crash.test/log'];
  const args = ['bin/tilelog.js', 'serve', '--data', dataDir, '--listen', '127.0.0.1:0'];
  const proc = spawn(process.execPath, [...args, ...origin, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + (opts.startMs ?? 30_000);
  while (!/serving (\S+)/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = /serving (\S+)/.exec(out)![1]!;
  return {
    proc,
    url,
    base: new URL(url).origin,
    vkey: /verifier key: (\S+)/.exec(out)![1]!,
    output: () => out,
  };
}

export async function kill9(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGKILL');
  await exited;
}

export { writeLoad } from '../../tools/load.ts';
