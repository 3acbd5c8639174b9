/** Flags that several commands share, and small helpers for the commands' output. */
import { parseListen, type Running } from '../server.ts';
import { type Flag, usageError } from './flags.ts';

/** checkAddress refuses a HOST:PORT flag value that cannot be listened on: a usage mistake. */
export function checkAddress(flag: string, value: string | undefined): void {
  if (value === undefined) return;
  try {
    parseListen(value);
  } catch {
    usageError(`--${flag} ${JSON.stringify(value.slice(0, 100))} is not HOST:PORT`);
  }
}

/** DATA is the local data directory of a log. */
export const DATA = {
  name: 'data',
  type: 'string',
  arg: 'DIR',
  env: 'TILELOG_DATA',
  default: 'data',
  help: 'data directory: the LevelDB store and dev key, or the dedup index beside S3',
} as const satisfies Flag;

/** S3 are the flags that reach an S3 bucket named by an s3:// URL. */
export const S3 = [
  {
    name: 's3-endpoint',
    type: 'string',
    arg: 'URL',
    env: ['TILELOG_S3_ENDPOINT', 'AWS_ENDPOINT_URL'],
    help: "S3 endpoint (Ceph RGW, MinIO); credentials and region come from the AWS SDK's usual variables",
  },
  {
    name: 's3-path-style',
    type: 'boolean',
    env: 'TILELOG_S3_PATH_STYLE',
    help: 'address buckets as ENDPOINT/BUCKET rather than BUCKET.ENDPOINT',
  },
] as const satisfies readonly Flag[];

/** STORAGE selects S3 storage instead of LevelDB. */
export const STORAGE = {
  name: 'storage',
  type: 'string',
  arg: 's3://BUCKET/PREFIX',
  env: 'TILELOG_STORAGE',
  help: 'keep the log in S3 instead of LevelDB in --data',
} as const satisfies Flag;

/** VKEY is the verifier key of the log a command reads. */
export const VKEY = {
  name: 'vkey',
  type: 'string',
  arg: 'VKEY',
  env: 'TILELOG_VKEY',
  help: "the log's verifier key (a note key string)",
} as const satisfies Flag;

/** URL is the API prefix of a running log. */
export const URL_FLAG = {
  name: 'url',
  type: 'string',
  arg: 'URL',
  env: 'TILELOG_URL',
  default: 'http://127.0.0.1:8080/api/v2',
  help: "the log's API prefix",
} as const satisfies Flag;

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

/** fail stops a command with a one-line message and exit code 1 (a usage mistake is UsageError). */
export function fail(msg: string): never {
  throw new Error(msg);
}

/**
 * untilSignal starts a server with start() and resolves once the first SIGTERM or SIGINT has
 * closed it (onSignal runs first). The handlers are installed before start() runs: a signal
 * that came after the server announced itself but before they were would take the default
 * action and kill the process without closing it (and a signal during start-up closes the
 * server as soon as it is up).
 */
export async function untilSignal(
  start: () => Promise<Running>,
  onSignal: () => void = () => undefined,
): Promise<void> {
  let signalled!: () => void;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    signalled();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let r: Running;
  try {
    r = await start();
  } catch (err) {
    stop();
    throw err;
  }
  await signal;
  onSignal();
  await r.close();
}
