// The CLI end to end over HTTP: `index --once` builds an index of a served Rekor log in a data
// directory, `lookup` verifies hits (and their inclusion in the input log), `index verify`
// rebuilds the map and agrees; a tampered answer is an ALARM with exit 2.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { createApp, createIndexApp, listen } from '../../src/api/index.ts';
import { main } from '../../src/cli/index.ts';
import { TlogClient } from '../../src/client/index.ts';
import { openStateMap, openStore } from '../../src/config.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { Indexer } from '../../src/vindex/index.ts';
import { inputLog, inputSigner, populate, scan } from './fixture.ts';

afterEach(() => vi.restoreAllMocks());

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
  vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
  const code = await main(argv, {});
  vi.restoreAllMocks();
  return { code, out, err };
}

describe('tilelog index, lookup, index verify', () => {
  it('builds, looks up with every check, and verifies the index', async () => {
    const input = await inputLog();
    await populate(input.app, input.log, 0, 150);
    const inputServer = await listen(createApp(input.log).fetch, '127.0.0.1', 0, '/api/v2');
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-vindex-cli-'));
    const skey = generateSignerKey('index.example.test/input');
    writeFileSync(join(dir, 'index.key'), skey + '\n');
    const vkey = parseSignerKey(skey).verifierKey;
    const common = ['--input', inputServer.url, '--input-vkey', inputSigner.verifierKey];
    const data = join(dir, 'data');
    const built = await run([
      'index',
      ...common,
      '--key',
      join(dir, 'index.key'),
      '--data',
      data,
      '--once',
    ]);
    expect(built.code, built.err.join('\n')).toBe(0);
    // Serve the built index as `index --listen` would.
    const signer = parseSignerKey(skey);
    const store = await openStore({ data: join(data, 'output') });
    const output = await Log.open(store, { origin: signer.name, signer });
    const kv = await openStateMap(join(data, 'map'));
    const inputClient = new TlogClient({ url: inputServer.url, verifiers: [] });
    const indexer = await Indexer.open({ input: inputClient, output, kv });
    const ixServer = await listen(
      createIndexApp({ prefix: '/index', indexer, output }).fetch,
      '127.0.0.1',
      0,
      '/index',
    );
    const want = await scan(input.client());
    const san = [...want.keys()].find((k) => k.startsWith('san:'))!;
    const args = ['--index', ixServer.url, '--vkey', vkey, ...common, '--state', join(dir, 'st')];
    const hit = await run(['lookup', ...args, '--san', san.slice(4)]);
    expect(hit.code, hit.err.join('\n')).toBe(0);
    expect(hit.out.map((l) => JSON.parse(l).index)).toEqual(want.get(san));
    // Each hit comes decoded: its certificate carries the SAN looked up.
    for (const l of hit.out) {
      const sans = JSON.parse(l).entry.signatures.flatMap((s: any) => s.certificate?.sans ?? []);
      expect(sans).toContain(san.slice(4));
    }
    const none = await run(['lookup', ...args, '--san', 'nobody@example.com']);
    expect(none).toMatchObject({ code: 0, out: [] });
    const verified = await run([
      'index verify',
      '--index',
      ixServer.url,
      '--vkey',
      vkey,
      ...common,
    ]);
    expect(verified.code, verified.err.join('\n')).toBe(0);
    // A lookup against an index signed by another key is an alarm.
    const other = parseSignerKey(generateSignerKey('index.example.test/input')).verifierKey;
    const bad = await run(['lookup', ...args, '--vkey', other, '--san', san.slice(4)]);
    expect(bad.code).toBe(2);
    expect(bad.err.join('\n')).toMatch(/^ALARM: /);
    const usage = await run(['lookup', ...args, '--digest', 'sha256:XYZ']);
    expect(usage.code).toBe(2);
    await ixServer.close();
    await inputServer.close();
    await output.close();
    await store.close();
    await kv.close();
  });
});
