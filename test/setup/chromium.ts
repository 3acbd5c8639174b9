// Vitest global setup: Debian's chromium for the explorer's browser tests, installed by
// tools/chromium.sh when missing, so that plain `npm test` works on a fresh machine.
import { execFileSync } from 'node:child_process';

export function setup(): void {
  execFileSync('bash', ['tools/chromium.sh', 'install'], { stdio: 'inherit' });
}
