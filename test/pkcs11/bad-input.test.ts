// Bad input for PKCS#11 keys, on a real SoftHSM2 token: each case is one line on stderr naming
// what is wrong, exit code 1, and no file written (keygen's --out, serve's --data).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { generateP256 } from '../../src/pkcs11/index.ts';
import { runCli } from '../helpers/cli.ts';
import { keyUri, label, MODULE, PIN, TOKEN } from './helpers.ts';

// An ECDSA P-256 key pair in the token (a tilelog sign key): a key of the wrong type for a log.
const p256 = label('p256');
beforeAll(() => generateP256(keyUri(p256)));

describe('bad PKCS#11 input', () => {
  afterEach(() => vi.restoreAllMocks());
  const existing = label('existing');

  const cases: [string, string, RegExp][] = [
    ['a wrong PIN', keyUri(existing, '&pin-value=9999'), /wrong PIN for token tilelog-test/],
    ['no PIN at all', keyUri(existing, ''), /token tilelog-test needs a PIN/],
    [
      'a missing module',
      `pkcs11:token=${TOKEN};object=x?module-path=/nonexistent/libnone.so&pin-value=${PIN}`,
      /cannot load module-path \/nonexistent\/libnone\.so/,
    ],
    [
      'an unknown token',
      keyUri(existing, `&pin-value=${PIN}`, 'no-such-token'),
      /no token token=no-such-token/,
    ],
    [
      'a key of the wrong type',
      keyUri(p256),
      /object=p256-[0-9a-f]+ in token tilelog-test is not an Ed25519 key/,
    ],
    [
      'an unparseable URI',
      `pkcs11:object=a;object=b?module-path=${MODULE}`,
      /attribute "object" appears twice/,
    ],
    ['a URI without a module', `pkcs11:object=a`, /the URI has no module-path/],
    [
      'an unreadable pin-source',
      keyUri(existing, '&pin-source=file:/nonexistent/pin'),
      /cannot read pin-source \/nonexistent\/pin/,
    ],
  ];

  it.each(cases)('keygen refuses %s, writing nothing', async (_what, uri, why) => {
    const out = join(mkdtempSync(join(tmpdir(), 'tilelog-bad-')), 'keys');
    const r = await runCli([
      'keygen',
      '--origin',
      'bad.example.test',
      '--pkcs11',
      uri,
      '--out',
      out,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(why);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ...cases,
    [
      'an unknown label',
      keyUri(label('absent')),
      /no key object=absent-[0-9a-f]+ in token tilelog-test/,
    ],
  ] as [string, string, RegExp][])('serve refuses %s, writing nothing', async (_what, uri, why) => {
    const data = join(mkdtempSync(join(tmpdir(), 'tilelog-bad-')), 'data');
    const r = await runCli([
      'serve',
      '--key',
      uri,
      '--origin',
      'bad.example.test',
      '--data',
      data,
      '--listen',
      '127.0.0.1:0',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(why);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(data)).toBe(false);
  });
});
