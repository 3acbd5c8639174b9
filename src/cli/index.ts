/**
 * The `tilelog` command line: the registry of commands (grouped by meaning in log.ts, witness.ts,
 * client.ts and tools.ts) and the dispatcher. Exit codes: 0 done, 1 failed, 2 usage mistake.
 */
import { add, proofConsistency, proofInclusion, verifyBundleCmd } from './client.ts';
import { explorer } from './explorer.ts';
import { type Command, parseCommand, UsageError } from './flags.ts';
import { hammer } from './hammer.ts';
import { commandHelp, synopsis } from './help.ts';
import { freeze, keygen, serve } from './log.ts';
import { mirror } from './mirror.ts';
import { monitor } from './monitor.ts';
import { sign } from './sign.ts';
import { fsck, migrate } from './tools.ts';
import { rotate, trustRoot } from './trust.ts';
import { indexCmd, indexVerify, lookup } from './vindex.ts';
import { bastion, witness } from './witness.ts';

/** COMMANDS is every command, in the order the usage text lists them. */
export const COMMANDS: readonly Command[] = [
  keygen,
  serve,
  freeze,
  rotate,
  trustRoot,
  witness,
  bastion,
  add,
  proofInclusion,
  proofConsistency,
  sign,
  verifyBundleCmd,
  monitor,
  fsck,
  migrate,
  mirror,
  hammer,
  indexCmd,
  indexVerify,
  lookup,
  explorer,
];

/** usage is the top-level help text, ending with a newline. */
function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return (
    [
      'usage: tilelog COMMAND [options]',
      '',
      'commands:',
      ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
      '',
      'Run `tilelog COMMAND --help` for its options. Exit codes: 0 done, 1 failed, 2 usage mistake.',
    ].join('\n') + '\n'
  );
}

// find picks the command named by the first one or two words of argv.
function find(argv: readonly string[]): { cmd: Command; rest: string[] } | Command[] {
  const [a, b] = argv;
  const two = COMMANDS.find((c) => c.name === `${a} ${b}`);
  if (two) return { cmd: two, rest: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === a);
  if (one) return { cmd: one, rest: argv.slice(1) };
  return COMMANDS.filter((c) => c.name.startsWith(`${a} `));
}

/** main runs the command line and returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const topic = first === 'help' ? find(argv.slice(1)) : [];
    process.stdout.write('cmd' in topic ? commandHelp(topic.cmd) : usage());
    return 0;
  }
  const found = find(argv);
  if (!('cmd' in found)) {
    if (found.length === 0) return usageFailure(`unknown command ${first} (see tilelog --help)`);
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(found.map(commandHelp).join('\n'));
      return 0;
    }
    const subs = found.map((c) => c.name.split(' ')[1]).join(' or ');
    return usageFailure(`${first} needs ${subs} (see tilelog ${first} --help)`);
  }
  const { cmd, rest } = found;
  try {
    const parsed = await parseCommand(cmd, rest, env);
    if (parsed.help) {
      process.stdout.write(commandHelp(cmd));
      return 0;
    }
    return await cmd.run(parsed.values, parsed.positionals);
  } catch (err) {
    if (err instanceof UsageError)
      return usageFailure(`tilelog ${cmd.name}: ${err.message} (usage: ${synopsis(cmd)})`);
    console.error(`tilelog ${cmd.name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

function usageFailure(line: string): number {
  console.error(line);
  return 2;
}
