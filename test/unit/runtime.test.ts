// neutrino runs on the Node.js package.json's `engines` asks for, and so do its tests: npm scripts
// find .runtime/node first (node_modules/.bin/node) when scripts/provide-node.sh provided it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
const major = (version: string) => Number(version.split('.')[0]);

test("the tests run on the Node.js package.json's engines asks for", () => {
  const wanted = /^>=(\d+)$/.exec(engines);
  assert.ok(wanted, `engines.node is '${engines}'; expected '>=MAJOR'`);
  assert.ok(
    major(process.versions.node) >= Number(wanted[1]),
    `the tests run on Node.js ${process.version}; package.json asks for ${engines}: run them through npm, or with .runtime/node/bin first on PATH`,
  );
});

test('scripts/provide-node.sh provides the Node.js engines asks for', () => {
  const script = read('scripts/provide-node.sh');
  const pinnedMajor = /^NODE_MAJOR=(\d+)$/m.exec(script)?.[1];
  const pinnedVersion = /^NODE_VERSION=([\d.]+)$/m.exec(script)?.[1];
  assert.equal(`>=${pinnedMajor}`, engines);
  assert.equal(major(pinnedVersion ?? ''), Number(pinnedMajor));
});
