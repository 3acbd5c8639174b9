// PKCS#11 keys on a real SoftHSM2 token: keygen makes the Ed25519 key in the token (sensitive,
// not extractable) and writes only verifier keys; a served log signs its checkpoints there and
// they verify with the printed key; a witness cosigns with a token key (and an ML-DSA-44 file).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { concat, toBase64, utf8 } from '../../src/bytes.ts';
import { readSignerKey } from '../../src/config.ts';
import { leafHash } from '../../src/merkle/index.ts';
import {
  ALG_ED25519,
  formatVerifierKey,
  keyId,
  openNote,
  parseCosignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { generateEd25519 } from '../../src/pkcs11/index.ts';
import { A, CKO_PRIVATE_KEY, Module } from '../../src/pkcs11/module.ts';
import { startServer, startWitness } from '../../src/server.ts';
import { runCli } from '../helpers/cli.ts';
import { signedCheckpoint } from '../helpers/signers.ts';
import { logSigner } from '../helpers/witness.ts';
import { keyUri, label, MODULE, PIN, TOKEN } from './helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tilelog-pkcs11-'));

describe('keygen --pkcs11', () => {
  afterEach(() => vi.restoreAllMocks());

  it('makes a sensitive, non-extractable Ed25519 key in the token and writes only log.pub', async () => {
    const out = join(tmp(), 'keys');
    const uri = keyUri(label('log'));
    const args = ['keygen', '--origin', 'example.test/log', '--pkcs11', uri, '--out', out];
    const r = await runCli(args);
    expect(r).toMatchObject({ code: 0, err: '' });
    const vkey = readFileSync(join(out, 'log.pub'), 'utf8').trim();
    expect(r.out.trim()).toBe(vkey);
    expect(parseVerifierKey(vkey).name).toBe('example.test/log');
    expect(existsSync(join(out, 'log.key'))).toBe(false);
    // Again: the key exists, so its verifier key is printed and nothing new is made.
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(again.out.trim()).toBe(vkey);
    // The token refuses to show the private key: CKA_SENSITIVE, not CKA_EXTRACTABLE.
    const m = Module.load(MODULE);
    await m.serial(() => {
      m.initialize();
      const t = m.tokens().find((t) => t.label === TOKEN)!;
      const s = m.openSession(t.slot, PIN);
      try {
        const [k] = m.find(s, [
          { type: A.CLASS, value: CKO_PRIVATE_KEY },
          { type: A.LABEL, value: uri.split('object=')[1]!.split('?')[0]! },
        ]);
        expect(m.attribute(s, k!, A.SENSITIVE)[0]).toBe(1);
        expect(m.attribute(s, k!, A.EXTRACTABLE)[0]).toBe(0);
        expect(() => m.attribute(s, k!, 0x11 /* CKA_VALUE */)).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      } finally {
        m.closeSession(s);
      }
    });
  });

  it('serves a log whose checkpoints are signed in the token and verify with the printed key', async () => {
    const dir = tmp();
    const uri = keyUri(label('served'));
    const origin = 'served.example.test/log';
    const r = await runCli(['keygen', '--origin', origin, '--pkcs11', uri, '--out', dir]);
    expect(r.code).toBe(0);
    const vkey = r.out.trim();
    const running = await startServer({
      data: join(dir, 'data'),
      key: uri,
      origin,
      listen: '127.0.0.1:0',
      prefix: '/api/v2',
      personality: 'generic',
      maxAgeMs: 1,
      say: () => {},
    });
    try {
      expect(running.verifierKey).toBe(vkey);
      for (const e of ['one', 'two', 'three']) {
        const res = await fetch(`${running.url}/add`, { method: 'POST', body: e });
        expect(res.status).toBe(200);
      }
      const cp = await (await fetch(`${running.url}/checkpoint`)).text();
      const opened = openNote(cp, [parseVerifierKey(vkey)]);
      expect(opened.text).toMatch(new RegExp(`^${origin}\n3\n`));
    } finally {
      await running.close();
    }
  });

  it('runs a witness that cosigns with a token key and an ML-DSA-44 key file', async () => {
    const dir = tmp();
    const uri = keyUri(label('witness'));
    const r = await runCli([
      'keygen',
      '--witness',
      'witness.example.test',
      '--pkcs11',
      uri,
      '--out',
      dir,
      '--mldsa',
    ]);
    expect(r.code).toBe(0);
    const vkeys = readFileSync(join(dir, 'witness.pub'), 'utf8').trim().split('\n');
    expect(vkeys).toHaveLength(2);
    expect(existsSync(join(dir, 'witness.key'))).toBe(false);
    const log = logSigner('witnessed.example.test');
    writeFileSync(join(dir, 'config'), `log ${log.name} ${log.verifierKey}\n`);
    const w = await startWitness({
      config: join(dir, 'config'),
      key: uri,
      name: 'witness.example.test',
      mldsaKey: join(dir, 'witness-mldsa.key'),
      data: join(dir, 'state'),
      listen: '127.0.0.1:0',
      prefix: '',
    });
    try {
      const { text, note } = signedCheckpoint(log, 1, leafHash(utf8('x')));
      const res = await fetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        body: `old 0\n\n${note}`,
      });
      expect(res.status).toBe(200);
      const cosigned = note + (await res.text());
      const opened = openNote(cosigned, vkeys.map(parseCosignerKey));
      expect(opened.sigs.map((s) => s.name)).toEqual([
        'witness.example.test',
        'witness.example.test',
      ]);
      expect(toBase64(utf8(opened.text))).toBe(toBase64(utf8(text)));
    } finally {
      await w.close();
    }
  });

  it('opens a token key through readSignerKey only with a name', async () => {
    await expect(readSignerKey(keyUri(label('x')))).rejects.toThrow(/needs --origin/);
  });

  it('names a token key by --origin in trust-root and index, and ORIGIN/index in serve --index-key', async () => {
    const dir = tmp();
    const uri = keyUri(label('named'));
    const origin = 'named.example.test';
    const { publicKey } = await generateEd25519(uri);
    const want = formatVerifierKey(origin, publicKey);
    // trust-root: the TrustedRoot's logId is the checkpoint key ID of the named key.
    const tr = await runCli([
      'trust-root',
      '--url',
      `https://${origin}`,
      '--key',
      uri,
      '--out',
      dir,
    ]);
    expect(tr.code).toBe(1);
    expect(tr.err).toBe('tilelog trust-root: a PKCS#11 key needs --origin (its key name)\n');
    const ok = await runCli([
      'trust-root',
      '--url',
      `https://${origin}`,
      '--key',
      uri,
      '--origin',
      origin,
      '--out',
      dir,
    ]);
    expect(ok.code, ok.err).toBe(0);
    const root = JSON.parse(readFileSync(join(dir, 'trusted_root.json'), 'utf8'));
    const id = toBase64(keyId(origin, concat(Uint8Array.of(ALG_ED25519), publicKey)));
    expect(root.tlogs[0].checkpointKeyId.keyId).toBe(id);
    expect(parseVerifierKey(want).name).toBe(origin);
    // index --key URI without --origin: the same one line, nothing written.
    const data = join(dir, 'index');
    const ix = await runCli([
      'index',
      '--input',
      'http://127.0.0.1:1',
      '--input-vkey',
      want,
      '--key',
      uri,
      '--data',
      data,
    ]);
    expect(ix.code).toBe(1);
    expect(ix.err).toBe('tilelog index: a PKCS#11 key needs --origin (its key name)\n');
    expect(existsSync(data)).toBe(false);
    // serve --index --index-key URI: the index's key is named after the log, ORIGIN/index.
    const said: string[] = [];
    const running = await startServer({
      data: join(dir, 'data'),
      origin,
      index: true,
      indexKey: uri,
      listen: '127.0.0.1:0',
      prefix: '/api/v2',
      maxAgeMs: 1,
      say: (s: string) => void said.push(s),
    });
    try {
      expect(said.join('\n')).toContain(
        `index verifier key: ${formatVerifierKey(`${origin}/index`, publicKey)};`,
      );
    } finally {
      await running.close();
    }
  });
});
