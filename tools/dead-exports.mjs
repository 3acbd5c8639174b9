#!/usr/bin/env node
// Dead exports: the names a folder's index.ts (its API, style guide P15) exports that nothing
// outside the folder imports. Users are src/ files of other folders, bench/, tools/, bin/ (the
// `tilelog` command loads cli's `main`) and package.json's exports map (tilelog/client and
// tilelog/verify are public libraries, so all of their names count as used). Tests are not
// users: a name only tests need stays in its own file and the test imports that file directly,
// as Go's export_test.go does. Run by `npm run lint`; prints one line per dead name and exits 1.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

import ts from 'typescript';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..');

/** walk lists the .ts and .mjs files under dir (relative to the repository root). */
function walk(dir) {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(join(ROOT, p)).isDirectory()) return walk(p);
    return /\.(ts|mjs)$/.test(p) && !p.endsWith('.d.ts') ? [p] : [];
  });
}

const parse = (file) =>
  ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
const folderOf = (file) => (file.startsWith('src/') ? file.split('/')[1] : undefined);
const resolve = (from, spec) => normalize(join(dirname(from), spec));
const hasExport = (node) =>
  ts.getModifiers?.(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;

/** exportsOf lists the names an index.ts exports, with the line each is declared on. */
function exportsOf(file) {
  const sf = parse(file);
  const names = new Map();
  const add = (name, node) =>
    names.set(name, sf.getLineAndCharacterOfPosition(node.getStart()).line + 1);
  for (const st of sf.statements) {
    if (ts.isExportDeclaration(st)) {
      if (!st.exportClause) throw new Error(`${file}: export * hides what the folder exports`);
      if (ts.isNamedExports(st.exportClause))
        for (const el of st.exportClause.elements) add(el.name.text, el);
    } else if (ts.isVariableStatement(st) && hasExport(st)) {
      for (const d of st.declarationList.declarations)
        if (ts.isIdentifier(d.name)) add(d.name.text, d);
    } else if (hasExport(st) && st.name && ts.isIdentifier(st.name)) {
      add(st.name.text, st);
    }
  }
  return names;
}

/** importsOf calls use(target, name) for each name a file takes from a relative module. */
function importsOf(file, use) {
  const sf = parse(file);
  const visit = (node) => {
    const spec = node.moduleSpecifier;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && spec) {
      const target = resolve(file, spec.text);
      const clause = ts.isImportDeclaration(node) ? node.importClause : node;
      const bindings = ts.isImportDeclaration(node) ? clause?.namedBindings : node.exportClause;
      if (clause?.name) use(target, 'default');
      if (bindings && (ts.isNamedImports(bindings) || ts.isNamedExports(bindings)))
        for (const el of bindings.elements) use(target, (el.propertyName ?? el.name).text);
      else if (bindings || (ts.isExportDeclaration(node) && !node.exportClause)) use(target, '*'); // import * as ns, export * from: everything counts as used
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const target = resolve(file, node.argument.literal.text);
      use(target, node.qualifier ? node.qualifier.getText().split('.')[0] : '*');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) {
        // const { a, b } = await import('…') names what it takes; anything else takes all.
        const decl = node.parent?.parent;
        const target = resolve(file, arg.text);
        if (
          ts.isAwaitExpression(node.parent) &&
          decl &&
          ts.isVariableDeclaration(decl) &&
          ts.isObjectBindingPattern(decl.name)
        )
          for (const el of decl.name.elements) use(target, (el.propertyName ?? el.name).getText());
        else use(target, '*');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

/** deadExports returns one line per name that a folder's index.ts exports and nobody uses. */
export function deadExports() {
  const src = walk('src');
  const indexes = src.filter((f) => /^src\/[^/]+\/index\.ts$/.test(f));
  const used = new Map(indexes.map((f) => [f, new Set()]));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const v of Object.values(pkg.exports ?? {}))
    if (typeof v === 'object' && v.default?.startsWith('./dist/'))
      used.get(v.default.replace(/^\.\/dist\/(.*)\.js$/, 'src/$1.ts'))?.add('*');
  // bin/tilelog.js: `const { main } = await import(new URL('../dist/cli/index.js', …))`.
  used.get('src/cli/index.ts')?.add('main');
  // The README's option list is generated from the command tables by test/cli/readme.test.ts
  // (issue #10 item 1), the one test that the issue makes a user.
  used.get('src/cli/index.ts')?.add('COMMANDS');
  const users = [...src, ...walk('bench'), ...walk('tools')];
  for (const file of users)
    importsOf(file, (target, name) => {
      const names = used.get(target);
      if (names && folderOf(target) !== folderOf(file)) names.add(name);
    });
  const dead = [];
  for (const index of indexes) {
    const names = used.get(index);
    if (names.has('*')) continue;
    for (const [name, line] of exportsOf(index))
      if (!names.has(name)) dead.push(`${relative(ROOT, join(ROOT, index))}:${line}: ${name}`);
  }
  return dead;
}

if (
  process.argv[1] &&
  normalize(process.argv[1]) === normalize(new URL(import.meta.url).pathname)
) {
  const dead = deadExports();
  for (const d of dead)
    console.error(`${d} is exported but no other folder imports it (tests import its file)`);
  if (dead.length > 0) {
    console.error(
      `dead-exports: ${dead.length} unused export(s); drop them from index.ts ` +
        '(a test imports the inner file)',
    );
    process.exitCode = 1;
  }
}
