// Runs `tilelog serve` as a child process (the built CLI, as a user would), for crash tests.
import { type ChildProcess, spawn } from 'node:child_process';

export interface Child {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly vkey: string;
  output(): string;
}

export async function startChild(dataDir: string, extra: string[] = []): Promise<Child> {
  const proc = spawn(
    process.execPath,
    [
      'bin/tilelog.js',
      'serve',
      '--data',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--origin',
      'crash.test/log',
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!/serving (\S+)/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    proc,
    url: /serving (\S+)/.exec(out)![1]!,
    vkey: /verifier key: (\S+)/.exec(out)![1]!,
    output: () => out,
  };
}

export async function kill9(c: Child): Promise<void> {
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGKILL');
  await exited;
}

export { writeLoad } from '../../tools/load.ts';
