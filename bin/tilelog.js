#!/usr/bin/env node
// The tilelog command. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare
// script) or `npm run build`.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('tilelog: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
