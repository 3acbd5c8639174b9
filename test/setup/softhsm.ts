// Vitest global setup: a real SoftHSM2 token for the PKCS#11 tests, installed with
// tools/softhsm.sh (Debian softhsm2) and initialised in a temporary directory. The tests find it
// through SOFTHSM2_CONF and TILELOG_TEST_PKCS11_* (workers inherit the environment).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;

export function setup(): void {
  execFileSync('bash', ['tools/softhsm.sh', 'install'], { stdio: 'inherit' });
  dir = mkdtempSync(join(tmpdir(), 'tilelog-softhsm-'));
  const conf = execFileSync('bash', ['tools/softhsm.sh', 'init', dir, 'tilelog-test', '1234'], {
    encoding: 'utf8',
  });
  process.env.SOFTHSM2_CONF = conf.trim();
  process.env.TILELOG_TEST_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
  process.env.TILELOG_TEST_PKCS11_TOKEN = 'tilelog-test';
  process.env.TILELOG_TEST_PKCS11_PIN = '1234';
}

export function teardown(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
