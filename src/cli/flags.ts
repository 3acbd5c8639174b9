/**
 * The declarative command line: each command is a table of flags, and everything else (the
 * node:util parseArgs options, the environment look-up, type checks, defaults, the usage text and
 * the README's option list) is derived from that table. A new flag is one entry.
 */
import { parseArgs } from 'node:util';

/** Flag is one option of a command: `--name VALUE`, or `--name` for a boolean. */
export interface Flag {
  /** name is the flag without its dashes, as on the command line and in a config file. */
  readonly name: string;
  /** type: int is a positive integer; list is comma-separated; boolean takes no value. */
  readonly type: 'string' | 'boolean' | 'int' | 'list';
  /** arg names the value in the usage text (DIR, FILE, N). */
  readonly arg?: string;
  readonly help: string;
  /** env is the environment variable (or variables, the first set wins) read when the flag is absent. */
  readonly env?: string | readonly string[];
  readonly default?: string | number | boolean;
  readonly required?: boolean;
  /** multiple lets the flag repeat; its value is then an array. */
  readonly multiple?: boolean;
  /** choices are the only values accepted (for a list: for each element). */
  readonly choices?: readonly string[];
}

/** Positional describes the operands after the flags, e.g. FILE... */
export interface Positional {
  readonly name: string;
  readonly min: number;
}

/** CommandSpec is one command's table and the function that runs it with the parsed values. */
export interface CommandSpec<F extends readonly Flag[]> {
  /** name is the word after `tilelog` (two words for a sub-command: `proof inclusion`). */
  readonly name: string;
  readonly summary: string;
  readonly flags: F;
  readonly positionals?: Positional;
  /** notes are extra help lines (exit codes, which flags go together). */
  readonly notes?: readonly string[];
  /** configFile names the flag whose file supplies further values (`serve --config`). */
  readonly configFile?: string;
  /** run does the work and returns the exit code. */
  run(values: Values<F>, positionals: string[]): Promise<number>;
}

/** Command is a CommandSpec with its value type erased, as the registry holds it. */
export type Command = CommandSpec<readonly Flag[]> & {
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
};

type Camel<S extends string> = S extends `${infer A}-${infer B}`
  ? `${A}${Capitalize<Camel<B>>}`
  : S;
type Base<F extends Flag> = F['type'] extends 'boolean'
  ? boolean
  : F['type'] extends 'int'
    ? number
    : F['type'] extends 'list'
      ? string[]
      : F extends { choices: readonly (infer C)[] }
        ? C
        : string;
type One<F extends Flag> = F extends { multiple: true } ? Base<F>[] : Base<F>;
type Always = { required: true } | { default: unknown } | { type: 'boolean' } | { multiple: true };

/** Values are the parsed flags of a table, keyed by camelCase name (`max-batch` → `maxBatch`). */
export type Values<Fs extends readonly Flag[]> = {
  readonly [F in Fs[number] as Camel<F['name']>]: F extends Always ? One<F> : One<F> | undefined;
};

/** defineCommand checks a command's table against its run function and erases its types. */
export function defineCommand<const F extends readonly Flag[]>(spec: CommandSpec<F>): Command {
  return spec as unknown as Command;
}

/** UsageError is a mistake on the command line: one line on stderr and exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** usageError throws a UsageError. */
export function usageError(msg: string): never {
  throw new UsageError(msg);
}

/** camel turns a flag name into its key in Values. */
export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** envNames lists a flag's environment variables. */
export function envNames(f: Flag): readonly string[] {
  return f.env === undefined ? [] : typeof f.env === 'string' ? [f.env] : f.env;
}

/** Parsed is the result of parseCommand: typed values and the operands. */
export interface Parsed {
  readonly values: Record<string, unknown>;
  readonly positionals: string[];
  readonly help: boolean;
}

/**
 * parseCommand parses args against a command's table. Each flag's value comes from, in order:
 * the command line, the environment, the config file (`file`, keys are flag names), the default.
 */
export function parseCommand(
  cmd: Command,
  args: string[],
  environ: NodeJS.ProcessEnv,
  file?: Record<string, unknown>,
): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const f of cmd.flags)
    options[f.name] = { type: f.type === 'boolean' ? 'boolean' : 'string', multiple: !!f.multiple };
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: cmd.positionals !== undefined,
      strict: true,
    });
  } catch (err) {
    usageError(firstLine(err));
  }
  if (parsed.values.help) return { values: {}, positionals: [], help: true };
  if (file) {
    for (const key of Object.keys(file)) {
      if (!cmd.flags.some((f) => f.name === key && f.name !== cmd.configFile))
        usageError(`unknown key ${key} in the config file`);
    }
  }
  const values: Record<string, unknown> = {};
  for (const f of cmd.flags) {
    const given = (parsed.values as Record<string, unknown>)[f.name];
    values[camel(f.name)] = resolve(f, given, environ, file?.[f.name]);
  }
  const { min = 0, name = '' } = cmd.positionals ?? {};
  if (parsed.positionals.length < min) usageError(`${cmd.name} needs ${name}`);
  return { values, positionals: parsed.positionals, help: false };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

// One flag's value: command line, then environment, then config file, then default.
function resolve(f: Flag, given: unknown, environ: NodeJS.ProcessEnv, inFile: unknown): unknown {
  if (given !== undefined) return typed(f, given, `--${f.name}`);
  for (const e of envNames(f)) {
    const v = environ[e];
    if (v !== undefined && v !== '') return typed(f, fromEnv(f, v, e), e);
  }
  if (inFile !== undefined) return typed(f, inFile, `${f.name} in the config file`);
  if (f.default !== undefined) return typed(f, f.default, `the default of --${f.name}`);
  if (f.required) usageError(`missing --${f.name}`);
  return f.type === 'boolean' ? false : f.multiple ? [] : undefined;
}

// Environment values are text: booleans are 1/true or 0/false, a repeatable flag is comma-separated.
function fromEnv(f: Flag, v: string, name: string): unknown {
  if (f.type === 'boolean') {
    if (v === '1' || v === 'true') return true;
    if (v === '0' || v === 'false') return false;
    usageError(`${name} must be 1 or 0`);
  }
  return f.multiple ? v.split(',').map((s) => s.trim()) : v;
}

// typed checks one value (or each value of a repeatable flag) against the flag's type and choices.
function typed(f: Flag, v: unknown, where: string): unknown {
  if (f.multiple) {
    const all = Array.isArray(v) ? v : [v];
    return all.map((x) => typedOne(f, x, where));
  }
  return typedOne(f, v, where);
}

function typedOne(f: Flag, v: unknown, where: string): unknown {
  switch (f.type) {
    case 'boolean':
      if (typeof v !== 'boolean') usageError(`${where} must be true or false`);
      return v;
    case 'int': {
      const s = typeof v === 'number' ? String(v) : v;
      if (typeof s !== 'string' || !/^[1-9][0-9]*$/.test(s) || !Number.isSafeInteger(Number(s)))
        usageError(`${where} must be a positive integer`);
      return Number(s);
    }
    case 'list': {
      const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
      if (!items?.every((x) => typeof x === 'string')) usageError(`${where} must be a list`);
      const list = (items as string[]).map((x) => x.trim());
      for (const x of list) checkChoice(f, x, where);
      return list;
    }
    case 'string':
      if (typeof v !== 'string') usageError(`${where} must be a string`);
      checkChoice(f, v, where);
      return v;
  }
}

function checkChoice(f: Flag, v: string, where: string): void {
  if (f.choices && !f.choices.includes(v))
    usageError(`${where}: ${v} is not one of ${f.choices.join(', ')}`);
}

/** flagUsage is one flag as the usage text shows it: `--max-batch N`. */
export function flagUsage(f: Flag): string {
  if (f.type === 'boolean') return `--${f.name}`;
  return `--${f.name} ${f.arg ?? (f.type === 'int' ? 'N' : f.type === 'list' ? 'A,B' : 'VALUE')}`;
}

/** synopsis is the one-line form of a command: `tilelog add [options] FILE...`. */
export function synopsis(cmd: Command): string {
  const req = cmd.flags.filter((f) => f.required).map(flagUsage);
  const opt = cmd.flags.some((f) => !f.required) ? ['[options]'] : [];
  const pos = cmd.positionals ? [cmd.positionals.name] : [];
  return ['tilelog', cmd.name, ...req, ...opt, ...pos].join(' ');
}

/** flagDetails is what follows a flag's help: required, default, environment variables. */
export function flagDetails(f: Flag): string[] {
  const d: string[] = [];
  if (f.required) d.push('required');
  if (f.multiple) d.push('repeatable');
  if (f.default !== undefined) d.push(`default ${f.default}`);
  const env = envNames(f);
  if (env.length > 0) d.push(`env ${env.join(' or ')}`);
  return d;
}

/** commandHelp is a command's usage text, ending with a newline; lines fit in 100 columns. */
export function commandHelp(cmd: Command): string {
  const rows = cmd.flags.map((f) => {
    const details = flagDetails(f);
    return [flagUsage(f), f.help + (details.length ? ` (${details.join('; ')})` : '')] as const;
  });
  rows.push(['--help', 'print this help']);
  const width = Math.min(26, Math.max(...rows.map(([u]) => u.length)) + 2);
  const lines = [`usage: ${synopsis(cmd)}`, '', ...wrap(cmd.summary, 100, '')];
  lines.push('', 'options:');
  for (const [u, h] of rows) {
    const text = wrap(h, 100 - 2 - width, ''.padEnd(2 + width));
    if (u.length + 2 > width) lines.push(`  ${u}`, ''.padEnd(2 + width) + text[0]);
    else lines.push(`  ${u.padEnd(width)}${text[0]}`);
    lines.push(...text.slice(1));
  }
  if (cmd.notes?.length) lines.push('', ...cmd.notes);
  return lines.join('\n') + '\n';
}

// wrap breaks text at spaces into lines of at most width; lines after the first get indent.
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  out.push(line);
  return out.map((l, i) => (i === 0 ? l : indent + l));
}
