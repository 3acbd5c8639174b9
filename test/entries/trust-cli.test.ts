// `tilelog trust-root` and `tilelog rotate` write whole documents that @sigstore/verify loads.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import { describe, expect, it, vi } from 'vitest';

import { main } from '../../src/cli/index.ts';
import { loadOrCreateDevKey } from '../../src/config.ts';
import { verifyBundle } from '../../src/verify/index.ts';

const PROD = 'spec-vectors/sigstore-trust-roots/tuf-repo-cdn.sigstore.dev';
const PROD_HR =
  'spec-vectors/sigstore-sigstore-js/prod-log2025-1_hashedrekord-0.0.2_bundle.sigstore.json';
const read = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

async function run(argv: string[]) {
  const err: string[] = [];
  const out: string[] = [];
  const e = vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
  const o = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
  const w = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  try {
    return { code: await main(argv, {}), err, out };
  } finally {
    e.mockRestore();
    o.mockRestore();
    w.mockRestore();
  }
}

describe('tilelog trust-root', () => {
  it('writes both documents, merges into production ones, and refuses bad input in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-trust-'));
    await loadOrCreateDevKey(join(dir, 'k'), 'log2026-1.example.test');
    const key = join(dir, 'k', 'log.key');
    const base = ['trust-root', '--url', 'https://log2026-1.example.test/', '--key', key];
    const r = await run([
      ...base,
      '--out',
      join(dir, 'a'),
      '--key-valid-from',
      '2026-01-01T00:00:00Z',
    ]);
    expect(r.code, r.err.join('')).toBe(0);
    const root = read(join(dir, 'a', 'trusted_root.json'));
    const config = read(join(dir, 'a', 'signing_config.v0.2.json'));
    expect(root.tlogs[0]).toMatchObject({
      baseUrl: 'https://log2026-1.example.test',
      operator: 'example.test',
      publicKey: { validFor: { start: '2026-01-01T00:00:00Z' } },
    });
    expect(config.rekorTlogUrls[0]).toMatchObject({
      url: 'https://log2026-1.example.test',
      operator: 'example.test',
      validFor: { start: '2026-01-02T00:00:00Z' },
    });
    expect(() => toTrustMaterial(TrustedRoot.fromJSON(root))).not.toThrow();

    const merged = await run([
      ...base,
      '--out',
      join(dir, 'b'),
      '--operator',
      'example.org',
      '--signing-valid-from',
      '2030-01-01T00:00:00+01:00',
      '--merge-trusted-root',
      `${PROD}/trusted_root.json`,
      '--merge-signing-config',
      `${PROD}/signing_config.v0.2.json`,
    ]);
    expect(merged.code, merged.err.join('')).toBe(0);
    const root2 = read(join(dir, 'b', 'trusted_root.json'));
    expect(root2.tlogs).toHaveLength(3);
    expect(root2.tlogs[2].operator).toBe('example.org');
    expect(read(join(dir, 'b', 'signing_config.v0.2.json')).rekorTlogUrls[0].validFor).toEqual({
      start: '2029-12-31T23:00:00Z',
    });
    expect(verifyBundle(read(PROD_HR), root2).valid).toBe(true);

    writeFileSync(join(dir, 'bad.json'), '{"mediaType": "nope"}');
    const bad: [string[], number, RegExp][] = [
      [['--out', join(dir, 'c'), '--key-valid-from', 'yesterday'], 2, /not an RFC 3339 time/],
      [
        ['--out', join(dir, 'c'), '--merge-trusted-root', join(dir, 'bad.json')],
        1,
        /mediaType "nope"/,
      ],
      [['--out', join(dir, 'c'), '--merge-signing-config', join(dir, 'nothing')], 1, /ENOENT/],
      [['--out', join(dir, 'c'), '--operator', 'https://x'], 1, /not a scheme-less URI/],
    ];
    for (const [args, code, want] of bad) {
      const b = await run([...base, ...args]);
      expect(b.code, args.join(' ')).toBe(code);
      expect(b.err.join(''), args.join(' ')).toMatch(want);
      expect(b.err.join('').trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('tilelog rotate', () => {
  it('bounds the old log in the documents it is given and adds the next one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-rotate-docs-'));
    await loadOrCreateDevKey(join(dir, 'old'), 'log2026-1.example.test');
    const t = await run([
      'trust-root',
      '--url',
      'https://log2026-1.example.test',
      '--key',
      join(dir, 'old', 'log.key'),
      '--out',
      join(dir, 'docs'),
      '--key-valid-from',
      '2026-01-01T00:00:00Z',
    ]);
    expect(t.code).toBe(0);
    const r = await run([
      'rotate',
      '--data',
      join(dir, 'old'),
      '--old-url',
      'https://log2026-1.example.test',
      '--new-origin',
      'log2026-2.example.test',
      '--new-data',
      join(dir, 'new'),
      '--out',
      join(dir, 'docs2'),
      '--merge-trusted-root',
      join(dir, 'docs', 'trusted_root.json'),
      '--merge-signing-config',
      join(dir, 'docs', 'signing_config.v0.2.json'),
    ]);
    expect(r.code, r.err.join('')).toBe(0);
    const root = read(join(dir, 'docs2', 'trusted_root.json'));
    expect(root.tlogs.map((x: { baseUrl: string }) => x.baseUrl)).toEqual([
      'https://log2026-1.example.test',
      'https://log2026-2.example.test',
    ]);
    expect(root.tlogs[0].publicKey.validFor.start).toBe('2026-01-01T00:00:00Z');
    expect(root.tlogs[0].publicKey.validFor.end).toBe(root.tlogs[1].publicKey.validFor.start);
    const config = read(join(dir, 'docs2', 'signing_config.v0.2.json'));
    expect(config.rekorTlogUrls[0].url).toBe('https://log2026-2.example.test');
    expect(config.rekorTlogUrls[1].validFor.end).toBe(config.rekorTlogUrls[0].validFor.start);
    expect(JSON.parse(r.out.join('\n')).trustedRoot).toEqual(root);
    expect(() => toTrustMaterial(TrustedRoot.fromJSON(root))).not.toThrow();
    // Without the old log's start, rotate refuses before freezing anything.
    const again = await run([
      'rotate',
      '--data',
      join(dir, 'new'),
      '--old-url',
      'https://log2026-2.example.test',
      '--new-origin',
      'log2026-3.example.test',
      '--new-data',
      join(dir, 'third'),
    ]);
    expect(again.code).toBe(2);
    expect(again.err.join('')).toMatch(/needs --old-key-valid-from/);
  });
});
