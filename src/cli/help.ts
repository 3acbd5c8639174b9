/** The usage text and the README's option list, both derived from the command tables. */
import { type Command, envNames, type Flag } from './flags.ts';

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
export function flagDetails(f: Flag, code: (s: string) => string = (s) => s): string[] {
  const d: string[] = [];
  if (f.required) d.push('required');
  if (f.multiple) d.push('repeatable');
  if (f.default !== undefined && f.default !== '') d.push(`default ${code(String(f.default))}`);
  const env = envNames(f);
  if (env.length > 0) d.push(`env ${env.map(code).join(' or ')}`);
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

/** README_BEGIN and README_END mark the README's generated option list. */
export const README_BEGIN =
  '<!-- BEGIN generated from the flag tables in src/cli/ by `npm run docs:cli`; a test checks it -->';
export const README_END = '<!-- END generated -->';

/** optionsMarkdown is the README's option list: every command's flags, then every variable. */
export function optionsMarkdown(commands: readonly Command[]): string {
  const out: string[] = [];
  for (const cmd of commands) {
    out.push(`#### \`${synopsis(cmd)}\``, '', cmd.summary, '');
    for (const f of cmd.flags) {
      const d = flagDetails(f, (s) => `\`${s}\``);
      out.push(`- \`${flagUsage(f)}\`: ${f.help}${d.length ? ` (${d.join('; ')})` : ''}`);
    }
    if (cmd.notes?.length) out.push('', ...cmd.notes);
    out.push('');
  }
  out.push('#### Environment variables', '');
  const vars = new Map<string, string[]>();
  for (const cmd of commands) {
    for (const f of cmd.flags) {
      for (const e of envNames(f)) {
        const uses = vars.get(e) ?? [];
        const use = `\`--${f.name}\``;
        const at = uses.findIndex((u) => u.startsWith(use));
        if (at < 0) uses.push(`${use} of ${cmd.name}`);
        else uses[at] += `, ${cmd.name}`;
        vars.set(e, uses);
      }
    }
  }
  for (const [e, uses] of [...vars].sort(([a], [b]) => a.localeCompare(b)))
    out.push(`- \`${e}\`: ${uses.join('; ')}`);
  return out.join('\n') + '\n';
}
