// runCli runs `tilelog` in-process (src/cli's main) and collects what it prints, as a user would
// see it: stdout (console.log and direct writes) and stderr (console.error).
import { vi } from 'vitest';

import { main } from '../../src/cli/index.ts';

/** CliRun is the exit code of one command and what it printed. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** runCli calls main(argv, env) with the console captured, and restores it afterwards. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const w = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  const l = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void (out += `${s}\n`));
  const e = vi.spyOn(console, 'error').mockImplementation((s: unknown) => void (err += `${s}\n`));
  try {
    return { code: await main(argv, env), out, err };
  } finally {
    w.mockRestore();
    l.mockRestore();
    e.mockRestore();
  }
}
