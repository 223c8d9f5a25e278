// Node.js runs the sources as they are (its type stripping; tsc rewrites `.ts` to `.js` only in
// dist/), so a relative import must name the .ts file itself: `./x.js` typechecks under NodeNext
// but fails when the test or benchmark runs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { relativeImports, tsFiles } from '../helpers/imports.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Relative imports of `files` naming a .js file that is not there beside the .ts one, as `file: specifier`. */
function unrunnable(files: string[]): string[] {
  return files.flatMap((file) =>
    relativeImports(readFileSync(file, 'utf8'))
      .filter((spec) => spec.endsWith('.js'))
      .filter((spec) => {
        const target = resolve(dirname(file), spec);
        return !existsSync(target) && existsSync(target.replace(/\.js$/, '.ts'));
      })
      .map((spec) => `${relative(ROOT, file)}: ${spec}`),
  );
}

test('no relative import in src, test and bench names the .js of a .ts file', () => {
  const files = ['src', 'test', 'bench'].flatMap((d) => tsFiles(join(ROOT, d)));
  assert.ok(files.length > 400, 'the three trees have their files');
  assert.deepEqual(unrunnable(files), []);
});
