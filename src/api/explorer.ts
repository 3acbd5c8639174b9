/**
 * The log explorer's static page at `/` (index.html, explorer.js, explorer.css, built by
 * `npm run build` into dist/explorer-web/) and its config.json, which points the page at this
 * server's log and index. The page verifies everything itself; this only hands out files. The
 * page gets a Content-Security-Policy that allows its own script and style and nothing inline.
 */
import { readFileSync } from 'node:fs';

import type { Context, Hono } from 'hono';

/** ExplorerConfig is config.json: where the page finds the log and index, and their keys. */
export interface ExplorerConfig {
  /** log is the log's prefix URL, absolute or relative to the page. */
  readonly log: string;
  readonly vkey: string;
  readonly index: string | null;
  readonly indexVkey: string | null;
  readonly witnesses: readonly string[];
}

/** EXPLORER_FILES are the page's files and their content types. */
export const EXPLORER_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'explorer.js': 'text/javascript; charset=utf-8',
  'explorer.css': 'text/css; charset=utf-8',
};

/** explorerDir is where `npm run build` writes the page (from src/api or dist/api alike). */
export const explorerDir = (): URL => new URL('../../dist/explorer-web/', import.meta.url);

/** CSP keeps the page to its own script and style; it may read logs anywhere. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src *; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** readExplorerFiles reads the built page, or returns null when it was not built. */
export function readExplorerFiles(dir = explorerDir()): Map<string, Uint8Array> | null {
  try {
    return new Map(Object.keys(EXPLORER_FILES).map((f) => [f, readFileSync(new URL(f, dir))]));
  } catch {
    return null;
  }
}

/** mountExplorer serves the page at / and config.json beside it. */
export function mountExplorer(app: Hono, config: ExplorerConfig): void {
  const files = readExplorerFiles();
  const serve = (name: string) => (c: Context) => {
    c.header('Cache-Control', 'no-cache');
    if (!files) return c.text('the explorer is not built: run npm run build\n', 503);
    c.header('Content-Type', EXPLORER_FILES[name]!);
    if (name === 'index.html') c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(files.get(name)! as Uint8Array<ArrayBuffer>);
  };
  app.get('/', serve('index.html'));
  for (const name of Object.keys(EXPLORER_FILES)) app.get(`/${name}`, serve(name));
  app.get('/config.json', (c) => {
    c.header('Cache-Control', 'no-cache');
    return c.json(config);
  });
}
