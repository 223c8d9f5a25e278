// src/ has no runtime import cycle: a cycle makes load order matter (a constant read before its
// module has run is undefined) and tangles layers. Type-only imports are erased, so they don't count.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveTs, runtimeImports, tsFiles } from '../helpers/imports.ts';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

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
    "import type { A } from './a.ts';",
    "import { type B, type C } from './b.ts';",
    "import { type D, e } from './d.ts';",
    "export { f } from './f.ts';",
    "import {\n  g,\n  h,\n} from './g.ts';",
    "import './side.ts';",
    "import x from 'node:fs';",
  ].join('\n');
  assert.deepEqual(runtimeImports(src), ['./d.ts', './f.ts', './g.ts', './side.ts']);
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
