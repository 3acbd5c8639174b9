/** Helpers shared by the command-line modules: flag parsing, environment, failures, progress. */
import { LogError } from './errors.ts';

export function fail(msg: string): never {
  throw new LogError('bad_request', msg);
}

export function env(name: string): string | undefined {
  const v = process.env[`TILELOG_${name}`];
  return v === '' ? undefined : v;
}

export function intFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(v) || !Number.isSafeInteger(Number(v)))
    fail(`--${name} must be a positive integer`);
  return Number(v);
}

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):([0-9]{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) fail(`--listen ${s} is not HOST:PORT`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** progressBar draws a one-line progress bar on stderr when it is a terminal (plain lines otherwise). */
export function progressBar(label: string): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 200) return;
    last = now;
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
    const line = `${label} [${bar}] ${pct}% ${done.toLocaleString()}/${total.toLocaleString()}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${done >= total ? '\n' : ''}`);
    else if (done >= total || pct % 10 === 0) process.stderr.write(line + '\n');
  };
}
