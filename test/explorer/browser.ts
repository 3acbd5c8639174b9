// The explorer in a real browser: Debian's chromium (tools/chromium.sh, test/setup/chromium.ts)
// driven by playwright-core, and the page built as `npm run build` builds it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BrowserContext, chromium } from 'playwright-core';

/** buildExplorer bundles the page into dist/explorer-web, as npm run build does. */
export function buildExplorer(): void {
  execFileSync('npm', ['run', '--silent', 'build:explorer'], { stdio: 'inherit' });
}

/** CHROMIUM is Debian's chromium, installed by tools/chromium.sh. */
export const CHROMIUM = '/usr/bin/chromium';

/** launch starts a headless chromium with a fresh profile (so a fresh localStorage). */
export function launch(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'tilelog-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    // Without the background-networking flags chromium's own connections (updates, sync) are
    // refused many at a time on a machine with only loopback.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
