// A token that goes away mid-run and comes back, for real: the SoftHSM2 token directory is moved
// away (the module then fails every call, and cannot even initialize) and moved back. The log
// stops committing, answers 503 with Retry-After, reports unhealthy, and resumes; the commit
// that was waiting for the token is not dropped, and nothing acknowledged is lost.
// And the failures an operator must fix: the PIN changed or the key deleted mid-run. They are
// fatal: the entry waiting for them gets a one-line 500, the health check fails with the reason,
// the token is not asked again (a wrong PIN tried again would lock it), and the log stops
// without forking: restarted with the key restored, it goes on from the last checkpoint.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pkcs11js from 'pkcs11js';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { readSignerKey } from '../../src/config.ts';
import { openNote, parseVerifierKey, type Signer } from '../../src/note/index.ts';
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
// The fatal cases' tokens, made before the module first initializes (it lists tokens then).
for (const token of ['pin', 'deleted'])
  execFileSync('bash', ['tools/softhsm.sh', 'init', dir, token, PIN]);

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

// admin runs f in a session of its own on token label, logged in as the user, through a second
// binding of the same module (the process-wide C_Initialize is shared).
function admin(label: string, f: (lib: pkcs11js.PKCS11, s: Buffer) => void, pin = PIN): void {
  const lib = new pkcs11js.PKCS11();
  lib.load(MODULE);
  try {
    lib.C_Initialize();
  } catch (err) {
    if ((err as { code?: number }).code !== 0x191) throw err; // CKR_CRYPTOKI_ALREADY_INITIALIZED
  }
  const slot = lib
    .C_GetSlotList(true)
    .find((sl) => lib.C_GetTokenInfo(sl).label.trimEnd() === label)!;
  const s = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    try {
      lib.C_Login(s, pkcs11js.CKU_USER, pin);
    } catch (err) {
      if ((err as { code?: number }).code !== 0x100) throw err; // CKR_USER_ALREADY_LOGGED_IN
    }
    f(lib, s);
  } finally {
    lib.C_CloseSession(s);
  }
}

describe('a token that fails for good', () => {
  // fatal runs a log whose key is in token (a token of its own), breaks it with breakIt, and
  // checks the fatal path; repair undoes the damage and the log restarts where it stopped.
  async function fatal(
    token: string,
    breakIt: (object: string) => Promise<void> | void,
    why: RegExp,
    repair?: (object: string) => void,
  ) {
    const object = label('log');
    const uri = `pkcs11:token=${token};object=${object}?module-path=${MODULE}&pin-value=${PIN}`;
    const origin = `${token}.example.test/log`;
    await generateEd25519(uri);
    const retries: string[] = [];
    let signer: Signer = await readSignerKey(uri, origin, { onRetry: (w) => retries.push(w) });
    const store = await LevelStore.open(join(dir, `${token}-db`), { sync: true });
    let log = await Log.open(store, { origin, signer, maxAgeMs: 1, deadlineMs: 5000 });
    try {
      let app = createApp(log, { prefix: '', personality: 'generic', stuckAfterMs: 60_000 });
      expect((await app.request('/add', { method: 'POST', body: 'before' })).status).toBe(200);
      const before = log.state.note;

      await breakIt(object);
      for (const body of ['broken', 'again']) {
        const res = await app.request('/add', { method: 'POST', body });
        expect(res.status, body).toBe(500);
        const text = await res.text();
        expect(text, body).toMatch(why);
        expect(text.trim().split('\n'), body).toHaveLength(1);
      }
      const health = await app.request('/healthz');
      expect(health.status).toBe(503);
      expect(signer.failure).toMatch(why);
      expect(log.integrated.checkpoint.size).toBe(1);
      expect(log.state.note).toBe(before);
      // The failure sticks: even with the token repaired, this process does not try it again.
      repair?.(object);
      expect((await app.request('/add', { method: 'POST', body: 'later' })).status).toBe(500);
      expect(log.integrated.checkpoint.size).toBe(1);
      await log.close();
      if (!repair) return; // the key is gone for good: the log needs a new one (tilelog rotate)

      // Restarted after the repair, the log goes on from checkpoint 1, and the refused entries
      // were never part of it.
      signer = await readSignerKey(uri, origin);
      log = await Log.open(store, { origin, signer, maxAgeMs: 1 });
      expect(log.state.note).toBe(before);
      app = createApp(log, { prefix: '', personality: 'generic' });
      const res = await app.request('/add', { method: 'POST', body: 'broken' });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { index: string }).index).toBe('1');
      const cp = openNote(log.state.note, [parseVerifierKey(signer.verifierKey)]);
      expect(cp.text).toMatch(new RegExp(`^${origin}\n2\n`));
    } finally {
      await log.close();
      await store.close();
    }
  }

  it('stops on a PIN changed mid-run, once the session is lost', async () => {
    await fatal(
      'pin',
      () => {
        admin('pin', (lib, s) => lib.C_SetPIN(s, PIN, '5678'));
        // The token goes away and comes back: the key logs in again, with the old PIN.
        renameSync(join(dir, 'tokens'), join(dir, 'tokens.away'));
        setTimeout(() => renameSync(join(dir, 'tokens.away'), join(dir, 'tokens')), 300);
      },
      /^pkcs11: wrong PIN for token pin \(CKR_PIN_INCORRECT\)$/m,
      () => admin('pin', (lib, s) => lib.C_SetPIN(s, '5678', PIN), '5678'),
    );
  });

  it('stops on a key deleted mid-run', async () => {
    await fatal(
      'deleted',
      (object) =>
        admin('deleted', (lib, s) => {
          lib.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_LABEL, value: object }]);
          const found = lib.C_FindObjects(s, 4);
          lib.C_FindObjectsFinal(s);
          expect(found).toHaveLength(2);
          for (const h of found) lib.C_DestroyObject(s, h);
        }),
      /pkcs11: token deleted no longer holds object=log-[0-9a-f]+/,
    );
  });
});
