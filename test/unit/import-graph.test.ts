/**
 * The shape of src/'s import graph: no cycles, src/contract/ depends on nothing else in src/, and
 * the published SDK (src/sdk/, `easel/sdk`) reaches only src/sdk/ and src/contract/, so it never
 * carries server modules. Every kind of import counts: `import`, `import type`, `export … from`,
 * `import('…')` with a literal, and `typeof import('…')` in types. Type-only arrows matter too:
 * they tie modules together for the compiler and for whoever reads them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isBuiltin as isNodeBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Cycles that exist today and are being removed on another branch (src/jobs is restructured there).
 * Each entry is the exact set of files of one cycle: it is excused only while no other file joins
 * it. Empty this when that branch lands; anything listed here that is no longer a cycle is reported.
 */

/** Packages the SDK's sources may name. typebox: `Static<>` over the contract's schemas (types only; the bundle shows what loads). */
const SDK_PACKAGES = ['typebox'];

/** What the bundled SDK may contain besides src/sdk and src/contract: nothing yet, and typebox should a schema ever be needed at run time. */
const SDK_RUNTIME_PACKAGES = ['typebox'];

interface Edge {
  from: string;
  /** The file under src/ for a relative import; the specifier as written for a package. */
  to: string;
  relative: boolean;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return tsFiles(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Every module specifier a file names, whichever syntax names it. */
function specifiers(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** `./x.js` → `src/…/x.ts` (NodeNext spelling), or `./dir` → `src/…/dir/index.ts`. */
function resolveRelative(from: string, spec: string): string {
  const base = path.posix.join(path.posix.dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
  const hit = candidates.find((c) => fs.existsSync(path.join(ROOT, c)) && fs.statSync(path.join(ROOT, c)).isFile());
  assert.ok(hit, `${from}: cannot resolve import '${spec}'`);
  return hit;
}

function importGraph(): { files: string[]; edges: Edge[] } {
  const files = tsFiles('src').sort();
  const edges = files.flatMap((from) =>
    specifiers(from).map((spec): Edge => (spec.startsWith('.') ? { from, to: resolveRelative(from, spec), relative: true } : { from, to: spec, relative: false })),
  );
  return { files, edges };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(files: string[], next: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || next.get(v)?.includes(v)) found.push(scc.sort());
  };
  for (const f of files) if (!index.has(f)) connect(f);
  return found;
}

/** One concrete loop through a component, for the failure message: a → b → … → a. */
function loopThrough(scc: string[], next: Map<string, string[]>): string[] {
  const members = new Set(scc);
  const start = scc[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of next.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let at = v; at !== start; at = cameFrom.get(at)!) loop.splice(1, 0, at);
        return [...loop, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return scc;
}

const isBuiltin = (spec: string) => spec.startsWith('node:');
const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

describe('import graph of src/', () => {
  const { files, edges } = importGraph();
  const next = new Map<string, string[]>();
  for (const e of edges) if (e.relative) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);

  it('reads the whole tree', () => {
    assert.ok(files.length > 100, `only ${files.length} files under src/`);
    assert.ok(edges.some((e) => e.relative), 'no relative imports found');
  });

  it('has no import cycle', () => {
    const all = cycles(files, next);
    const report = all.map((c) => `  ${loopThrough(c, next).join(' → ')}${c.length > 2 ? `\n    (the cycle's files: ${c.join(', ')})` : ''}`);
    assert.equal(all.length, 0, `import cycles:\n${report.join('\n')}`);
  });

  it('src/contract imports nothing else from src/', () => {
    const bad = edges.filter((e) => e.relative && e.from.startsWith('src/contract/') && !e.to.startsWith('src/contract/'));
    assert.deepEqual(bad.map((e) => `${e.from} → ${e.to}`), []);
  });

  it('src/sdk imports only src/sdk, src/contract, node: builtins and its listed packages', () => {
    const bad = edges.filter(
      (e) =>
        e.from.startsWith('src/sdk/') &&
        (e.relative ? !e.to.startsWith('src/sdk/') && !e.to.startsWith('src/contract/') : !isBuiltin(e.to) && !SDK_PACKAGES.includes(packageOf(e.to))),
    );
    assert.deepEqual(bad.map((e) => `${e.from} → ${e.to}`), []);
  });

  it('the bundled SDK (src/sdk/index.ts) contains only src/sdk, src/contract and its listed runtime packages', async (t) => {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: ['src/sdk/index.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      outfile: 'sdk-bundle.js',
      logLevel: 'silent',
    });
    // Paths are relative to ROOT; a package may show through node_modules' symlink (../main/node_modules/…).
    const inputs = Object.keys(result.metafile.inputs).sort();
    t.diagnostic(`SDK bundle inputs:\n${inputs.join('\n')}`);
    assert.ok(inputs.includes('src/sdk/index.ts') && inputs.includes('src/sdk/client.ts'), `the bundle misses the SDK itself: ${inputs.join(', ')}`);
    const allowed = (input: string) =>
      input.startsWith('src/sdk/') || input.startsWith('src/contract/') || SDK_RUNTIME_PACKAGES.some((p) => input.includes(`node_modules/${p}/`));
    assert.deepEqual(inputs.filter((i) => !allowed(i)), [], 'modules the SDK bundle should not contain');
    // Whatever was left out of the bundle must be a Node builtin.
    const externals = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    assert.deepEqual([...new Set(externals)].filter((p) => !isNodeBuiltin(p)), [], 'externals that are not Node builtins');
  });
});
