// src/ has no runtime import cycle: a cycle makes load order matter (a constant read before its
// module has run is undefined) and tangles layers. Type-only imports are erased, so they don't count.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** Relative imports/re-exports that survive compilation (not `import type`, not all-`type` specifiers). */
export function runtimeImports(source: string): string[] {
  const found: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.[^'"]+)['"]|^\s*import\s*['"](\.[^'"]+)['"]/gms;
  for (const m of source.matchAll(statement)) {
    if (m[5]) {
      found.push(m[5]);
      continue;
    }
    if (m[2]) continue;
    const braces = /^\{([^}]*)\}$/s.exec(m[3].trim());
    const allTypes =
      braces &&
      braces[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith('type '));
    if (!allTypes) found.push(m[4]);
  }
  return found;
}

const resolveTs = (from: string, spec: string) => resolve(dirname(from), spec.replace(/\.js$/, '.ts'));

/** Every cycle found by depth-first search, each as the list of files on it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'active');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'active') cycles.push(stack.slice(stack.indexOf(next)).concat(next));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

test('runtimeImports skips type-only imports and keeps value imports', () => {
  const src = [
    "import type { A } from './a.js';",
    "import { type B, type C } from './b.js';",
    "import { type D, e } from './d.js';",
    "export { f } from './f.js';",
    "import {\n  g,\n  h,\n} from './g.js';",
    "import './side.js';",
    "import x from 'node:fs';",
  ].join('\n');
  assert.deepEqual(runtimeImports(src), ['./d.js', './f.js', './g.js', './side.js']);
});

test('findCycles reports a cycle and nothing on an acyclic graph', () => {
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
      ]),
    ),
    [['a', 'b', 'c', 'a']],
  );
});

test('src/ has no runtime import cycle', () => {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(SRC))
    graph.set(
      file,
      runtimeImports(readFileSync(file, 'utf8')).map((s) => resolveTs(file, s)),
    );
  const cycles = findCycles(graph).map((c) => c.map((f) => f.slice(SRC.length + 1)).join(' → '));
  assert.deepEqual(cycles, []);
});
