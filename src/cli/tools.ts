/**
 * Commands over a whole store: fsck (verify it) and migrate (copy it between LevelDB and S3);
 * mirror is in mirror.ts. Each verifies everything it reads against the checkpoint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { openStore, openStoreAt } from '../config.ts';
import { parseVerifierKey } from '../note/index.ts';
import { fsck as checkStore, migrate as copyStore } from '../sequencer/index.ts';
import { DATA, progressBar, S3, STORAGE, VKEY } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

const ORIGIN = {
  name: 'origin',
  type: 'string',
  arg: 'ORIGIN',
  help: "checkpoint origin (default: the key's name)",
} as const;

/** fsck verifies every stored tile and entry bundle against the checkpoint. */
export const fsck = defineCommand({
  name: 'fsck',
  summary: 'Verify every entry bundle and tile of a store against its signed checkpoint.',
  flags: [
    DATA,
    STORAGE,
    ...S3,
    { ...VKEY, help: "the log's verifier key (default: DATA/log.pub)" },
    ORIGIN,
  ],
  notes: ['exit 0: consistent; 1: FAILED (the reason is printed)'],
  async run({ vkey, origin, ...where }) {
    const vkeyText =
      vkey ??
      (
        await readFile(join(where.data, 'log.pub'), 'utf8').catch(() =>
          usageError('fsck needs --vkey (or DATA/log.pub)'),
        )
      ).trim();
    const verifier = parseVerifierKey(vkeyText);
    const store = await openStore(where);
    try {
      const r = await checkStore(store, verifier, origin ?? verifier.name, progressBar('fsck'));
      console.log(
        `ok: ${r.origin} size ${r.size}: ${r.bundles} entry bundles and ${r.tiles} tiles verified against the checkpoint`,
      );
      return 0;
    } catch (err) {
      console.log(`FAILED: ${err instanceof Error ? err.message : err}`);
      return 1;
    } finally {
      await store.close();
    }
  },
});

/** migrate copies a log between stores (LevelDB directory or S3 URL), verifying as it goes. */
export const migrate = defineCommand({
  name: 'migrate',
  summary: 'Copy a log between stores (LevelDB and S3), verifying it against its checkpoint.',
  flags: [
    { name: 'from', type: 'string', arg: 'DIR|s3://BUCKET/PREFIX', required: true, help: 'source' },
    { name: 'to', type: 'string', arg: 'DIR|s3://BUCKET/PREFIX', required: true, help: 'target' },
    { ...VKEY, help: "the log's verifier key (default: FROM/log.pub)" },
    ORIGIN,
    ...S3,
  ],
  async run({ from, to, vkey, origin, ...s3 }) {
    const vkeyText =
      vkey ??
      (from.startsWith('s3://')
        ? usageError('migrate from S3 needs --vkey')
        : (await readFile(join(from, 'log.pub'), 'utf8')).trim());
    const verifier = parseVerifierKey(vkeyText);
    const [src, dst] = [await openStoreAt(from, s3), await openStoreAt(to, s3)];
    try {
      const bar = progressBar('migrate');
      const copied = await copyStore(src, dst, verifier, origin ?? verifier.name, bar);
      console.log(
        copied === 0
          ? 'nothing to copy: the destination already holds this checkpoint'
          : `copied and verified ${copied} entries`,
      );
      return 0;
    } finally {
      await src.close();
      await dst.close();
    }
  },
});
