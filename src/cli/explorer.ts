/**
 * `tilelog explorer --out DIR`: writes the log explorer's static page (the one `serve` has at /)
 * for a CDN or a bucket, with a config.json naming the log, its index and their keys. The page
 * can also be pointed elsewhere by its query string or its settings page.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type ExplorerConfig, readExplorerFiles } from '../api/index.ts';
import { parseVerifierKey } from '../note/index.ts';
import { defineCommand, usageError } from './flags.ts';

/** explorer writes the explorer page's files to a directory. */
export const explorer = defineCommand({
  name: 'explorer',
  summary: 'Write the log explorer (a static page that verifies what it shows) to a directory.',
  flags: [
    { name: 'out', type: 'string', arg: 'DIR', required: true, help: 'where to write the page' },
    { name: 'log', type: 'string', arg: 'URL', help: "the log's prefix URL, for config.json" },
    { name: 'vkey', type: 'string', arg: 'VKEY', help: "the log's verifier key" },
    { name: 'index', type: 'string', arg: 'URL', help: "the index's prefix URL" },
    { name: 'index-vkey', type: 'string', arg: 'VKEY', help: "the index's verifier key" },
    {
      name: 'witness',
      type: 'string',
      arg: 'VKEY',
      multiple: true,
      help: 'a witness key whose cosignatures the page checks',
    },
  ],
  notes: ['without --log, no config.json is written: the page asks for a log on its settings page'],
  async run(v) {
    const files = readExplorerFiles();
    if (!files) throw new Error('the explorer is not built: run npm run build');
    if ((v.log === undefined) !== (v.vkey === undefined))
      usageError('--log and --vkey go together');
    if ((v.index === undefined) !== (v.indexVkey === undefined))
      usageError('--index and --index-vkey go together');
    if (v.index !== undefined && v.log === undefined) usageError('--index needs --log');
    for (const k of [v.vkey, v.indexVkey]) if (k !== undefined) parseVerifierKey(k);
    await mkdir(v.out, { recursive: true });
    for (const [name, bytes] of files) await writeFile(join(v.out, name), bytes);
    if (v.log !== undefined) {
      const config: ExplorerConfig = {
        log: v.log,
        vkey: v.vkey!,
        index: v.index ?? null,
        indexVkey: v.indexVkey ?? null,
        witnesses: v.witness,
      };
      await writeFile(join(v.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    }
    console.log(
      `wrote ${[...files.keys(), ...(v.log ? ['config.json'] : [])].join(', ')} to ${v.out}`,
    );
    return 0;
  },
});
