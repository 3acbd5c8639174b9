/**
 * The declarative command line: each command is a table of flags, and everything else (the
 * node:util parseArgs options, the environment look-up, the config file, type checks and defaults
 * here; the usage text and the README's option list in help.ts) is derived from that table. A new
 * flag is one entry.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { parse as parseToml } from 'smol-toml';

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
 * the command line, the environment, the config file (when the command has one), the default.
 */
export async function parseCommand(
  cmd: Command,
  args: string[],
  environ: NodeJS.ProcessEnv,
): Promise<Parsed> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple: boolean }> = {};
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
  const given = parsed.values as Record<string, unknown>;
  const configFlag = cmd.flags.find((f) => f.name === cmd.configFile);
  const path = configFlag && resolve(configFlag, given[configFlag.name], environ, undefined);
  const file = typeof path === 'string' ? await readConfigFile(path, cmd) : undefined;
  const values: Record<string, unknown> = {};
  for (const f of cmd.flags) values[camel(f.name)] = resolve(f, given[f.name], environ, file);
  const { min = 0, name = '' } = cmd.positionals ?? {};
  if (parsed.positionals.length < min) usageError(`${cmd.name} needs ${name}`);
  return { values, positionals: parsed.positionals, help: false };
}

// readConfigFile reads a TOML file whose keys are the command's flag names (not the file's own).
async function readConfigFile(path: string, cmd: Command): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return usageError(`${path}: ${firstLine(err)}`);
  }
  let table: Record<string, unknown>;
  try {
    table = parseToml(text);
  } catch (err) {
    return usageError(`${path}: ${firstLine(err)}`);
  }
  for (const key of Object.keys(table)) {
    if (!cmd.flags.some((f) => f.name === key && f.name !== cmd.configFile))
      usageError(`${path}: unknown key ${key}`);
  }
  return table;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

// One flag's value: command line, then environment, then config file, then default.
function resolve(
  f: Flag,
  given: unknown,
  environ: NodeJS.ProcessEnv,
  file: Record<string, unknown> | undefined,
): unknown {
  if (given !== undefined) return typed(f, given, `--${f.name}`);
  for (const e of envNames(f)) {
    const v = environ[e];
    if (v !== undefined && v !== '') return typed(f, fromEnv(f, v, e), e);
  }
  if (file && Object.hasOwn(file, f.name)) return fromFile(f, file[f.name]);
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

// A config file has types of its own: an int must be an integer, a list an array of strings.
function fromFile(f: Flag, v: unknown): unknown {
  const where = `${f.name} in the config file`;
  const want = f.type === 'int' ? 'number' : f.type === 'list' ? 'object' : f.type;
  const ok = (x: unknown) => typeof x === want && (f.type !== 'list' || Array.isArray(x));
  if (f.multiple ? !Array.isArray(v) || !v.every(ok) : !ok(v))
    usageError(`${where} must be ${f.multiple ? 'an array of ' : ''}${kinds[f.type]}`);
  return typed(f, v, where);
}

const kinds = {
  string: 'a string',
  boolean: 'true or false',
  int: 'a positive integer',
  list: 'an array of strings',
} as const;

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
