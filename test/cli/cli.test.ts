// The command line as a user meets it: help for every command, exit codes, one-line errors, and
// where each flag's value comes from (command line, environment, default).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { type Command, parseCommand } from '../../src/cli/flags.ts';
import { COMMANDS } from '../../src/cli/index.ts';
import { runCli } from '../helpers/cli.ts';

const command = (name: string) => COMMANDS.find((c) => c.name === name)!;

describe('tilelog help', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints the usage for --help, -h, help and no command, ending with a newline, exit 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], []]) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.out).toMatch(/^usage: tilelog COMMAND/);
      expect(r.out.endsWith('\n')).toBe(true);
      for (const c of COMMANDS) expect(r.out).toContain(`  ${c.name} `);
    }
  });

  it('prints every command its own usage for --help, -h and help CMD, exit 0', async () => {
    for (const c of COMMANDS) {
      for (const argv of [
        [...c.name.split(' '), '--help'],
        [...c.name.split(' '), '-h'],
      ]) {
        const r = await runCli(argv);
        expect(r.code, argv.join(' ')).toBe(0);
        expect(r.err).toBe('');
        expect(r.out.startsWith(`usage: tilelog ${c.name}`)).toBe(true);
        expect(r.out.endsWith('\n')).toBe(true);
        for (const f of c.flags) expect(r.out).toContain(`--${f.name}`);
        for (const line of r.out.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
      }
      expect((await runCli(['help', ...c.name.split(' ')])).out).toBe(
        (await runCli([...c.name.split(' '), '--help'])).out,
      );
    }
  });

  it('lists both sub-commands for proof --help', async () => {
    const r = await runCli(['proof', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: tilelog proof inclusion');
    expect(r.out).toContain('usage: tilelog proof consistency');
  });
});

describe('tilelog usage mistakes', () => {
  it('answers an unknown option, command or sub-command with one line on stderr and exit 2', async () => {
    for (const c of COMMANDS) {
      const r = await runCli([...c.name.split(' '), '--no-such-flag']);
      expect(r.code, c.name).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toContain(`tilelog ${c.name}: Unknown option '--no-such-flag'`);
    }
    for (const argv of [['frobnicate'], ['proof'], ['proof', 'exclusion']]) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('answers a missing required flag, a missing value or a bad value with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['witness', '--key', 'k'], /missing --config/],
      [['keygen'], /missing --out/],
      [['keygen', '--out', 'x'], /needs --origin/],
      [['serve', '--data'], /argument missing/],
      [['serve', '--max-batch', '0'], /--max-batch must be a positive integer/],
      [['serve', '--max-age-ms', '1.5'], /--max-age-ms must be a positive integer/],
      [['serve', '--allowed-key-details', 'RSA'], /RSA is not one of PKIX_/],
      [['serve', '--accept-dsse=yes'], /does not take an argument/],
      [['serve', '--listen', 'nope'], /--listen "nope" is not HOST:PORT/],
      [['serve', '--listen', '127.0.0.1:70000'], /--listen "127.0.0.1:70000" is not HOST:PORT/],
      [['serve', '--grpc-listen', ':1'], /--grpc-listen ":1" is not HOST:PORT/],
      [['monitor', '--url', 'u', '--vkey', 'k', '--from', 'later'], /later is not one of now/],
      [['add'], /needs FILE/],
      [['mirror', '--url', 'u', '--to', 'd'], /missing --vkey/],
    ];
    for (const [argv, want] of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(want);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('refuses a bad value in the environment by its name', async () => {
    const r = await runCli(['serve'], { TILELOG_MAX_BATCH: 'lots' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/TILELOG_MAX_BATCH must be a positive integer/);
    const b = await runCli(['serve'], { TILELOG_ACCEPT_DSSE: 'yes' });
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/TILELOG_ACCEPT_DSSE must be 1 or 0/);
  });
});

describe('where a value comes from', () => {
  const serve = command('serve');
  const values = async (c: Command, args: string[], env: NodeJS.ProcessEnv) =>
    (await parseCommand(c, args, env)).values;

  it('takes the command line over the environment over the default', async () => {
    expect((await values(serve, [], {})).maxBatch).toBe(4096);
    expect((await values(serve, [], { TILELOG_MAX_BATCH: '7' })).maxBatch).toBe(7);
    expect((await values(serve, ['--max-batch', '9'], { TILELOG_MAX_BATCH: '7' })).maxBatch).toBe(
      9,
    );
  });

  it('reads the environment names tilelog has always read', async () => {
    const env = {
      TILELOG_DATA: 'd',
      TILELOG_KEY: 'k',
      TILELOG_ORIGIN: 'o',
      TILELOG_LISTEN: '0.0.0.0:1',
      TILELOG_PREFIX: '/p',
      TILELOG_MAX_AGE_MS: '3',
      TILELOG_MAX_PENDING: '5',
      TILELOG_ALLOWED_KEY_DETAILS: 'PKIX_ED25519_PH, PKIX_ECDSA_P256_SHA_256',
      TILELOG_ACCEPT_DSSE: '1',
      TILELOG_STORAGE: 's3://b/p',
      AWS_ENDPOINT_URL: 'http://aws',
      TILELOG_S3_PATH_STYLE: '1',
      TILELOG_MLDSA_KEY: 'm',
      TILELOG_MIRROR_OF: 'v',
      TILELOG_WITNESS_POLICY: 'w',
      TILELOG_WITNESS_TIMEOUT_MS: '11',
      TILELOG_WITNESS_FAIL_OPEN: '1',
      TILELOG_CHECKPOINT_INTERVAL_MS: '250',
      TILELOG_REPUBLISH_INTERVAL_MS: '60000',
      TILELOG_SUBMIT_DEADLINE_MS: '900',
      TILELOG_INDEX: '1',
      TILELOG_INDEX_KEY: 'ik',
      TILELOG_LEASE_MS: '7000',
      TILELOG_CLUSTER_SECRET: 'cs',
      TILELOG_ADVERTISE_URL: 'http://b:1',
    };
    expect(await values(serve, [], env)).toEqual({
      config: undefined,
      data: 'd',
      key: 'k',
      origin: 'o',
      listen: '0.0.0.0:1',
      prefix: '/p',
      maxBatch: 4096,
      maxAgeMs: 3,
      maxPending: 5,
      allowedKeyDetails: ['PKIX_ED25519_PH', 'PKIX_ECDSA_P256_SHA_256'],
      acceptDsse: true,
      storage: 's3://b/p',
      s3Endpoint: 'http://aws',
      s3PathStyle: true,
      mldsaKey: 'm',
      mirrorOf: 'v',
      witnessPolicy: 'w',
      witnessTimeoutMs: 11,
      witnessFailOpen: true,
      checkpointIntervalMs: 250,
      republishIntervalMs: 60_000,
      submitDeadlineMs: 900,
      index: true,
      indexKey: 'ik',
      leaseMs: 7000,
      clusterSecret: 'cs',
      advertiseUrl: 'http://b:1',
    });
    // TILELOG_S3_ENDPOINT is read before AWS_ENDPOINT_URL; an empty variable counts as unset.
    const s3 = { TILELOG_S3_ENDPOINT: 'http://ceph', AWS_ENDPOINT_URL: 'http://aws' };
    expect((await values(serve, [], s3)).s3Endpoint).toBe('http://ceph');
    expect((await values(serve, [], { TILELOG_DATA: '' })).data).toBe('data');
    const w = await values(command('witness'), ['--config', 'c', '--key', 'k'], {
      TILELOG_WITNESS_LISTEN: '127.0.0.1:9',
      TILELOG_DATA: 'wd',
    });
    expect(w).toMatchObject({ listen: '127.0.0.1:9', data: 'wd', prefix: '' });
    const add = await values(command('add'), ['f'], { TILELOG_URL: 'u', TILELOG_VKEY: 'v' });
    expect(add).toEqual({ url: 'u', vkey: 'v' });
  });

  it('accepts an integer flag exactly when its text is a canonical positive integer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.nat().map(String), fc.bigInt().map(String)),
        async (s) => {
          const canonical = /^[1-9][0-9]*$/.test(s) && Number.isSafeInteger(Number(s));
          const got = await parseCommand(serve, ['--max-batch', s], {}).then(
            (p) => p.values.maxBatch,
            (err: Error) => err.name,
          );
          expect(got).toEqual(canonical ? Number(s) : 'UsageError');
          if (canonical) expect(String(got)).toBe(s);
        },
      ),
    );
  });

  it('collects a repeated flag into a list', async () => {
    const m = await values(command('monitor'), ['--url', 'u', '--vkey', 'a', '--vkey', 'b'], {});
    expect(m.vkey).toEqual(['a', 'b']);
    expect(m.interval).toBe(10);
  });
});

describe('serve --config FILE', () => {
  const serve = command('serve');
  const dir = mkdtempSync(join(tmpdir(), 'tilelog-cfg-'));
  let n = 0;
  const file = (text: string) => {
    const f = join(dir, `c${n++}.toml`);
    writeFileSync(f, text);
    return f;
  };

  it('takes values from the file, under the command line and the environment', async () => {
    const f = file(
      [
        'data = "/srv/log"',
        'max-batch = 64',
        'max-age-ms = 5',
        'accept-dsse = true',
        'allowed-key-details = ["PKIX_ED25519_PH"]',
        'listen = "0.0.0.0:9000"',
      ].join('\n'),
    );
    const v = (await parseCommand(serve, ['--config', f, '--max-age-ms', '7'], {})).values;
    expect(v).toMatchObject({
      data: '/srv/log',
      maxBatch: 64,
      maxAgeMs: 7,
      acceptDsse: true,
      allowedKeyDetails: ['PKIX_ED25519_PH'],
      listen: '0.0.0.0:9000',
      prefix: '/api/v2',
    });
    const env = { TILELOG_CONFIG: f, TILELOG_MAX_BATCH: '8' };
    expect((await parseCommand(serve, [], env)).values).toMatchObject({
      maxBatch: 8,
      data: '/srv/log',
    });
  });

  it('refuses an unknown key, a wrong type or bad TOML with one line and exit 2', async () => {
    const cases: [string, RegExp][] = [
      ['max_batch = 1', /unknown key max_batch/],
      ['config = "other.toml"', /unknown key config/],
      ['[server]\nlisten = "x:1"', /unknown key server/],
      ['max-batch = "64"', /max-batch in the config file must be a positive integer/],
      ['max-batch = 0', /max-batch in the config file must be a positive integer/],
      ['max-batch = 1.5', /max-batch in the config file must be a positive integer/],
      ['accept-dsse = 1', /accept-dsse in the config file must be true or false/],
      ['allowed-key-details = "PKIX_ED25519_PH"', /must be an array of strings/],
      ['allowed-key-details = ["RSA"]', /RSA is not one of/],
      ['data = 3', /data in the config file must be a string/],
      ['data = "a"\ndata = "b"', /c\d+\.toml: /],
      ['data = ', /c\d+\.toml: /],
    ];
    for (const [text, want] of cases) {
      const r = await runCli(['serve', '--config', file(text)]);
      expect(r.code, text).toBe(2);
      expect(r.err, text).toMatch(want);
      expect(r.err.trimEnd().split('\n'), text).toHaveLength(1);
    }
    const missing = await runCli(['serve', '--config', join(dir, 'none.toml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/none\.toml: ENOENT/);
  });
});

describe('the tilelog binary', () => {
  it('prints help with exit 0 and an unknown option with exit 2', () => {
    const help = spawnSync(process.execPath, ['bin/tilelog.js', 'witness', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout.toString()).toMatch(/^usage: tilelog witness --key FILE/);
    expect(help.stdout.toString().endsWith('\n')).toBe(true);
    const bad = spawnSync(process.execPath, ['bin/tilelog.js', 'witness', '--nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toMatch(/^tilelog witness: Unknown option '--nope'.*\n$/);
  });

  it('runs a witness until SIGTERM, then closes and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-cli-'));
    expect(
      spawnSync(process.execPath, ['bin/tilelog.js', 'keygen', '--witness', 'w.test', '--out', dir])
        .status,
    ).toBe(0);
    const vkey = 'example.test/log+f6ea63bf+AWFTZ2SLc0fEyJNWcmG0UpHy1FJiyUnmyprpZJW9bo0Z';
    writeFileSync(join(dir, 'witness.conf'), `log example.test/log ${vkey}\n`);
    const proc = spawn(process.execPath, [
      'bin/tilelog.js',
      'witness',
      '--config',
      join(dir, 'witness.conf'),
      '--key',
      join(dir, 'witness.key'),
      '--data',
      join(dir, 'state'),
      '--listen',
      '127.0.0.1:0',
    ]);
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const deadline = Date.now() + 10_000;
    while (!/serving (\S+)/.test(out) && Date.now() < deadline && proc.exitCode === null)
      await new Promise((r) => setTimeout(r, 20));
    const url = /serving (\S+)/.exec(out)?.[1];
    expect(url, out).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/add-checkpoint$/);
    const exited = new Promise<number | null>((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
