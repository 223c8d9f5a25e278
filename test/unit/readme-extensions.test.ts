// The README's list of extensions is the one the server answers: clients read one, operators the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EXTENSIONS } from '../../src/networking/extensions.ts';

test('the README names exactly the extensions GET /v2.0/extensions lists, and their number', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const item = /^- \*\*Extensions\*\*: [^\n]*?these (\d+) \(`GET\s+\/v2\.0\/extensions`\):([\s\S]*?)(?=\.\s+[A-Z])/m.exec(readme);
  assert.ok(item, 'the README has an "- **Extensions**: … these N (`GET /v2.0/extensions`): …" item');
  const listed = [...item[2].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  const served = EXTENSIONS.map((e) => e.alias);
  assert.deepEqual([...listed].sort(), [...served].sort());
  assert.equal(Number(item[1]), served.length);
});
