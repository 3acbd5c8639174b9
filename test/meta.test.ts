// Meta-tests for the layout rules in the style guide: import boundaries and file sizes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SRC = files('src');
// The modules a file loads: its imports and its re-exports (`export … from`).
const imports = (f: string) =>
  [
    ...readFileSync(f, 'utf8').matchAll(
      /^(?:import[^'"]*|export[^'";]*\bfrom\s*)['"]([^'"]+)['"]/gm,
    ),
  ].map((m) => m[1]!);
const folder = (f: string) => relative('src', f).split('/')[0]!;

// The folders a browser can load: no Node or third-party imports but through crypto.ts.
const PURE = ['merkle', 'tiles', 'note', 'verify', 'client'];

describe('layout rules', () => {
  it('keeps every source file under 400 lines', () => {
    for (const f of SRC)
      expect(readFileSync(f, 'utf8').split('\n').length, f).toBeLessThanOrEqual(400);
  });

  it('keeps merkle/, tiles/, note/, verify/ and client/ free of Node and third-party imports (crypto.ts is the door)', () => {
    for (const f of SRC.filter((f) => PURE.includes(folder(f)))) {
      for (const i of imports(f)) expect(i.startsWith('.'), `${f} imports ${i}`).toBe(true);
    }
  });

  it('imports level only from storage/leveldb.ts and hono only from api/', () => {
    for (const f of SRC) {
      for (const i of imports(f)) {
        if (i === 'level') expect(f).toBe(join('src', 'storage', 'leveldb.ts'));
        if (i.startsWith('hono') || i.startsWith('@hono'))
          expect(folder(f), `${f} imports ${i}`).toBe('api');
      }
    }
  });

  it('lets the library entry points (tilelog/client, tilelog/verify) reach only pure code', () => {
    // What a browser bundle of package.json's exports pulls in: pure folders and the four
    // root files they share. The storage contract and its drivers stay out.
    const seen = new Set<string>();
    const walk = (f: string): void => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const i of imports(f).filter((i) => i.startsWith('.'))) walk(join(f, '..', i));
    };
    for (const entry of ['client', 'verify']) walk(join('src', entry, 'index.ts'));
    for (const f of seen) {
      const ok =
        PURE.includes(folder(f)) ||
        ['bytes.ts', 'crypto.ts', 'errors.ts', 'json.ts'].includes(folder(f));
      expect(ok, `${f} is reachable from a library entry point`).toBe(true);
    }
  });

  it('lets the explorer (bundled for browsers) reach only pure code and the index verification', () => {
    // What the bundle loads at run time: type-only imports (vindex's of storage and sequencer
    // types) are erased. Everything reached must import nothing but relative modules.
    const runtime = (f: string) =>
      [
        ...readFileSync(f, 'utf8').matchAll(
          /^(?:import(?!\s+type\b)[^'"]*|export(?!\s+type\b)[^'";]*\bfrom\s*)['"]([^'"]+)['"]/gm,
        ),
      ].map((m) => m[1]!);
    const seen = new Set<string>();
    const walk = (f: string): void => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const i of runtime(f).filter((i) => i.startsWith('.'))) walk(join(f, '..', i));
    };
    walk(join('src', 'explorer', 'main.ts'));
    const allowed = [
      ...PURE,
      'vindex',
      'explorer',
      'bytes.ts',
      'crypto.ts',
      'errors.ts',
      'json.ts',
    ];
    for (const f of seen) {
      expect(allowed.includes(folder(f)), `${f} is reachable from the explorer`).toBe(true);
      if (folder(f) !== 'crypto.ts')
        for (const i of runtime(f)) expect(i.startsWith('.'), `${f} imports ${i}`).toBe(true);
    }
  });

  it('builds into an emptied dist/, so a stale file from a removed source cannot ship', () => {
    const { scripts } = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(scripts.build).toMatch(/^npm run clean && /);
    expect(scripts.clean).toMatch(/rmSync\('dist', \{ recursive: true, force: true \}\)/);
  });

  it("points package.json's exports at the built index of pure folders, with types", () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    const entries = Object.entries(pkg.exports).filter(([k]) => k !== './package.json');
    expect(entries.map(([k]) => k)).toEqual(['./client', './verify']);
    for (const [k, v] of entries as [string, { types: string; default: string }][]) {
      const dir = k.slice(2);
      expect(PURE).toContain(dir);
      expect(v).toEqual({
        types: `./dist/${dir}/index.d.ts`,
        default: `./dist/${dir}/index.js`,
      });
      expect(statSync(join('src', dir, 'index.ts')).isFile()).toBe(true);
    }
  });

  it('crosses folders only through index.ts', () => {
    for (const f of SRC) {
      for (const i of imports(f).filter((i) => i.startsWith('../'))) {
        const target = join(f, '..', i);
        if (relative('src', target).includes('/'))
          expect(target.endsWith('index.ts'), `${f} imports ${i}`).toBe(true);
      }
    }
  });

  it('lets nothing import api/, server.ts or cli/ but the composition (cli/, server.ts, config.ts) and grpc/ (the other transport)', () => {
    for (const f of SRC.filter(
      (f) => !['api', 'grpc', 'cli', 'server.ts', 'config.ts'].includes(folder(f)),
    )) {
      for (const i of imports(f))
        expect(/\/(api\/|cli\/|server\.ts)/.test(i), `${f} imports ${i}`).toBe(false);
    }
  });

  it('has one assert(): no hand-rolled assertion errors outside src/errors.ts', () => {
    for (const f of SRC.filter((f) => f !== join('src', 'errors.ts')))
      expect(/assertion failed/i.test(readFileSync(f, 'utf8')), f).toBe(false);
  });

  it("never decides a status or code from an error message's text", () => {
    // A message may go into a response body or another message, but is never tested: compared,
    // searched or matched. api/ and witness/ choose statuses from codes and typed reasons only.
    const tested = [
      /\.message\s*(\?\.|\.)\s*(includes|startsWith|endsWith|match|matchAll|search|indexOf)\b/,
      /(?<!typeof\s+[\w?.]*)\.message\s*(===?|!==?)/, // typeof j.message is a JSON shape check
      /(===?|!==?)\s*\w+\.message\b/,
      /\.(test|exec)\([^)]*\.message\b/,
      /switch\s*\([^)]*\.message\b/,
    ];
    for (const f of SRC) {
      const text = readFileSync(f, 'utf8');
      for (const re of tested) expect(re.test(text), `${f} matches ${re}`).toBe(false);
    }
    for (const f of SRC.filter((f) => ['api', 'witness'].includes(folder(f)))) {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        if (!line.includes('.message')) continue;
        expect(/\b(if|while)\s*\(.*\.message|\.message\s*\?[^.?]/.test(line), `${f}: ${line}`).toBe(
          false,
        );
      }
    }
  });
});
