// The tracer must work on any Neutron, so it is built from the pure layers (model, kernel, planner,
// observe, exec, client) and never loads neutrino's server: no module it reaches, directly or
// through another module, lies in src/networking, src/identity, src/store or src/api.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { relativeImports, resolveTs, tsFiles } from '../helpers/imports.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SERVER_DIRS = ['networking', 'identity', 'store', 'api'].map((d) => join(ROOT, 'src', d) + '/');

/** Every source file reachable from `roots`, each with the chain of files that led to it. */
function reachable(roots: string[]): Map<string, string[]> {
  const chains = new Map(roots.map((f) => [f, [f]]));
  const queue = [...roots];
  while (queue.length) {
    const file = queue.shift()!;
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolveTs(file, spec);
      if (chains.has(target)) continue;
      chains.set(target, [...chains.get(file)!, target]);
      if (!SERVER_DIRS.some((d) => target.startsWith(d))) queue.push(target);
    }
  }
  return chains;
}

test('the import parser sees static, multi-line, type-only, re-export and dynamic imports', () => {
  const src = [
    "import { a } from '../networking/a.ts';",
    'import {\n  b,\n  c,\n} from "../store/b.ts";',
    "import type { T } from '../api/t.ts';",
    "export { d } from '../identity/d.ts';",
    "import '../networking/side-effect.ts';",
    "const m = await import('../store/lazy.ts');",
    "import { readFileSync } from 'node:fs';",
    "// import { x } from 'not-relative';",
  ].join('\n');
  assert.deepEqual(relativeImports(src).sort(), [
    '../api/t.ts',
    '../identity/d.ts',
    '../networking/a.ts',
    '../networking/side-effect.ts',
    '../store/b.ts',
    '../store/lazy.ts',
  ]);
});

test('nothing in src/trace reaches the server modules', () => {
  // every module of the tracer, in its stage directories too
  const roots = tsFiles(join(ROOT, 'src', 'trace'));
  assert.ok(roots.length > 30, 'src/trace has its modules, in its directories too');
  const offending = [...reachable(roots).entries()]
    .filter(([file]) => SERVER_DIRS.some((d) => file.startsWith(d)))
    .map(([, chain]) => chain.map((f) => relative(ROOT, f)).join(' -> '));
  assert.deepEqual(offending, []);
});
