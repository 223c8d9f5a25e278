// Without an answering server, `lab down` still finds the agent namespaces its agents made: by the
// owner mark on their `lo` (host and state path of one of the lab's nodes), and no one else's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespaceOwner } from '../../src/agent/namespace-owner.ts';
import { run } from '../../src/exec/run.ts';
import { namespaceMark } from '../../src/kernel/mark.ts';
import { agentNamespaces } from '../../src/lab/owned.ts';
import { labPaths } from '../../src/lab/paths.ts';
import { isRoot } from './sandbox.ts';

test(
  "namespaces marked by one of the lab's agents are the lab's; others' marks and unmarked ones are not",
  { skip: !isRoot() && 'needs root' },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'neutrino-lab-marks-'));
    const paths = labPaths(root, 'lm');
    mkdirSync(paths.agentState('compute1'), { recursive: true });
    const ours = `qrouter-${randomUUID()}`;
    const foreign = `qdhcp-${randomUUID()}`;
    const unmarked = `qrouter-${randomUUID()}`;
    const made: string[] = [];
    const mark = async (ns: string, alias: string | null) => {
      await run(['ip', 'netns', 'add', ns]);
      made.push(ns);
      if (alias) await run(['ip', 'link', 'set', 'lo', 'alias', alias], { netns: ns });
    };
    try {
      await mark(ours, namespaceMark(namespaceOwner({ host: 'compute1', statePath: paths.agentState('compute1') })));
      // The same node name in another lab: another state path, so another mark.
      await mark(foreign, namespaceMark(namespaceOwner({ host: 'compute1', statePath: labPaths(root, 'other').agentState('compute1') })));
      await mark(unmarked, null);
      const found = await agentNamespaces(paths, null);
      assert.ok(found.includes(ours), `${ours} not found in ${found.join(', ')}`);
      assert.ok(!found.includes(foreign) && !found.includes(unmarked), `found ${found.join(', ')}`);
    } finally {
      for (const ns of made) await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    }
  },
);
