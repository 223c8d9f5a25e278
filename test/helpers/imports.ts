// Reading a source tree's import graph from the text of its files, for the layering tests
// (no import cycles; the tracer never reaches the server). Relative specifiers only.
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Every .ts file below `dir`. */
export const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** The .ts file a relative specifier of `from` names (`.ts`, or `.js` as compiled output names it). */
export const resolveTs = (from: string, spec: string) => resolve(dirname(from), spec.replace(/\.js$/, '.ts'));

/** Relative module specifiers of a source file: static imports/re-exports (type-only too) and dynamic import()s. */
export function relativeImports(source: string): string[] {
  const specs = [
    ...source.matchAll(/^\s*(?:import|export)\b[^'"`;]*?(?:from\s*)?['"](\.[^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g),
  ];
  return specs.map((m) => m[1]!);
}

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
