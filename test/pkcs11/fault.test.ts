// A token that goes away mid-run and comes back, for real: the SoftHSM2 token directory is moved
// away (the module then fails every call, and cannot even initialize) and moved back. The log
// stops committing, answers 503 with Retry-After, reports unhealthy, and resumes; the commit
// that was waiting for the token is not dropped, and nothing acknowledged is lost.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { readSignerKey } from '../../src/config.ts';
import { openNote, parseVerifierKey } from '../../src/note/index.ts';
import { generateEd25519 } from '../../src/pkcs11/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { LevelStore } from '../../src/storage/index.ts';
import { label, MODULE, PIN } from './helpers.ts';

// A token of this file's own (this worker process reads SOFTHSM2_CONF when it first initializes
// the module), so that taking it away cannot disturb other test files.
const dir = mkdtempSync(join(tmpdir(), 'tilelog-fault-'));
process.env.SOFTHSM2_CONF = execFileSync('bash', ['tools/softhsm.sh', 'init', dir, 'fault', PIN], {
  encoding: 'utf8',
}).trim();

const until = async (what: string, f: () => boolean | Promise<boolean>, ms = 20_000) => {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('a token that goes away and comes back', () => {
  it('stops committing (503, unhealthy) and resumes with the waiting commit', async () => {
    const uri = `pkcs11:token=fault;object=${label('log')}?module-path=${MODULE}&pin-value=${PIN}`;
    const origin = 'fault.example.test/log';
    await generateEd25519(uri);
    const retries: string[] = [];
    const signer = await readSignerKey(uri, origin, { onRetry: (w) => retries.push(w) });
    const store = await LevelStore.open(join(dir, 'db'), { sync: true });
    const log = await Log.open(store, { origin, signer, maxAgeMs: 1, deadlineMs: 1500 });
    const app = createApp(log, { prefix: '', personality: 'generic', stuckAfterMs: 1000 });
    const add = (s: string) => app.request('/add', { method: 'POST', body: s });
    try {
      expect((await add('before')).status).toBe(200);

      renameSync(join(dir, 'tokens'), join(dir, 'tokens.away'));
      const refused = await add('while away');
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await app.request('/healthz')).status).toBe(503);
      expect(log.integrated.checkpoint.size).toBe(1);
      expect(retries.length).toBeGreaterThan(0);

      renameSync(join(dir, 'tokens.away'), join(dir, 'tokens'));
      // The commit that waited for the token goes through: the refused entry is in the log.
      await until('the waiting commit', () => log.state.checkpoint.size === 2);
      expect((await app.request('/healthz')).status).toBe(200);
      expect((await add('after')).status).toBe(200);
      const again = await add('while away');
      expect(again.status).toBe(200);
      expect(((await again.json()) as { index: string }).index).toBe('1'); // kept: added once
      const vkey = parseVerifierKey(signer.verifierKey);
      const cp = openNote(log.state.note, [vkey]);
      expect(cp.text).toMatch(new RegExp(`^${origin}\n3\n`));
    } finally {
      await log.close();
      await store.close();
    }
  });
});
