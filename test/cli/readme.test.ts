// The README's option list is generated from the command tables; this test keeps them equal.
// `npm run docs:cli` (TILELOG_UPDATE_README=1) rewrites the section instead of checking it.
import { readFileSync, writeFileSync } from 'node:fs';

import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';

import { optionsMarkdown, README_BEGIN, README_END } from '../../src/cli/help.ts';
import { COMMANDS } from '../../src/cli/index.ts';

describe('README option list', () => {
  it('matches the flag tables of every command', async () => {
    const readme = readFileSync('README.md', 'utf8');
    const begin = readme.indexOf(README_BEGIN);
    const end = readme.indexOf(README_END);
    expect(begin, 'README.md has the BEGIN marker').toBeGreaterThan(0);
    expect(end, 'README.md has the END marker after BEGIN').toBeGreaterThan(begin);
    // Formatted as prettier (which checks README.md) would leave it.
    const options = { ...(await resolveConfig('README.md')), parser: 'markdown' };
    const section = await format(optionsMarkdown(COMMANDS), options);
    const want = `${readme.slice(0, begin + README_BEGIN.length)}\n\n${section}\n${readme.slice(end)}`;
    if (process.env.TILELOG_UPDATE_README === '1') writeFileSync('README.md', want);
    else expect(readme).toBe(want);
    for (const c of COMMANDS) {
      expect(section).toContain(`tilelog ${c.name}`);
      for (const f of c.flags) expect(section).toContain(`--${f.name}`);
    }
  });
});
