import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it, vi } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { main } from '../../src/cli/index.ts';
import { loadOrCreateDevKey } from '../../src/config.ts';
import { Log } from '../../src/sequencer/index.ts';
import { LevelStore } from '../../src/storage/index.ts';

describe('tilelog rotate', () => {
  it('freezes the shard, makes the next one, and prints the trust material for both', async () => {
    const base = mkdtempSync(join(tmpdir(), 'tilelog-rotate-'));
    const old = join(base, 'old');
    const { signer } = await loadOrCreateDevKey(old, 'log2026-1.example.test');
    const store = await LevelStore.open(join(old, 'db'));
    const log = await Log.open(store, { origin: signer.name, signer, maxAgeMs: 1 });
    await Promise.all([1, 2, 3].map((i) => log.add(utf8(`e${i}`))));
    await log.close();
    await store.close();
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    const code = await main([
      'rotate',
      '--data',
      old,
      '--old-url',
      'https://log2026-1.example.test',
      '--old-key-valid-from',
      '2026-01-01T00:00:00Z',
      '--new-origin',
      'log2026-2.example.test',
      '--new-data',
      join(base, 'new'),
    ]);
    spy.mockRestore();
    expect(code).toBe(0);
    const r = JSON.parse(out.join('\n'));
    expect(r.frozenCheckpoint).toMatch(/^log2026-1\.example\.test\n3\n.*\nLog frozen \u2014 /);
    expect(r.trustedRoot.tlogs[0].baseUrl).toBe('https://log2026-1.example.test');
    expect(r.trustedRoot.tlogs[0].publicKey.validFor.end).toBeDefined();
    expect(r.trustedRoot.tlogs[1].baseUrl).toBe('https://log2026-2.example.test');
    expect(r.signingConfig.rekorTlogUrls[0].url).toBe('https://log2026-2.example.test');
    expect(r.newVerifierKey).toMatch(/^log2026-2\.example\.test\+/);
    const again = await LevelStore.open(join(old, 'db'));
    const frozen = await Log.open(again, { origin: signer.name, signer });
    expect(frozen.frozen).toBe(true);
    await again.close();
  });
});
