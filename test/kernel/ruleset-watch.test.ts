// Root tests of the ruleset watch: a full observation of a node whose nftables ruleset nobody has
// touched since the last one takes the last iptables-save output again; a rule added by hand, by
// anyone, or by neutrino's own apply makes the next one read, and it sees the change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { scopeFor } from '../../src/kernel/scope.ts';
import { emptyDesiredNamespace, HOST, type DesiredNode } from '../../src/kernel/types.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { joinsNftablesGroup, isNftBackend, RulesetWatch } from '../../src/exec/ruleset-watch.ts';
import { run, type Runner } from '../../src/exec/run.ts';
import { firewall, INSTANCE_1 } from './topology.ts';
import { isRoot, removeAll, uniquePrefix } from './sandbox.ts';
import { observeKept as keptObservation, reconcileUntilPlanned } from './watch.ts';

const prefix = uniquePrefix();

test('the monitor counts as listening once its netfilter socket has joined the nftables group', () => {
  const table = [
    'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
    '00000000c0bee768 12  3094       00000140 0        0        0     2        0        10418179',
    '00000000732d1584 12  0          00000000 0        0        0     2        0        10418169',
    '0000000011111111 0   3094       00000040 0        0        0     2        0        10418180',
  ].join('\n');
  assert.equal(joinsNftablesGroup(table, new Set([10418179])), true);
  assert.equal(joinsNftablesGroup(table, new Set([10418169])), false, 'not subscribed');
  assert.equal(joinsNftablesGroup(table, new Set([10418180])), false, 'a route socket');
  assert.equal(joinsNftablesGroup(table, new Set([1])), false, "another process's socket");
  assert.equal(isNftBackend('iptables v1.8.9 (nf_tables)'), true);
  assert.equal(isNftBackend('iptables v1.8.9 (legacy)'), false);
});

describe('full observations and the ruleset watch', { skip: isRoot() ? false : 'needs root (namespaces, iptables, nft)' }, () => {
  const node = `${prefix}watch`;
  const saves: string[][] = [];
  const counting: Runner = (argv, opts) => {
    if (/^ip6?tables-save$/.test(argv[0]!)) saves.push([...argv]);
    return run(argv, opts);
  };
  let k: RealKernel;

  before(async () => {
    await run(['ip', 'netns', 'add', node]);
    k = new RealKernel({ hostNetns: node, run: counting, watchRuleset: true });
  });

  after(async () => {
    await k?.close();
    await removeAll(prefix);
  });

  const observeKept = () => keptObservation(k, () => k.rulesetReads);

  const chainsOf = (seen: Awaited<ReturnType<typeof observeKept>>) => (seen.namespaces[HOST]!.iptables.filter ?? []).map((c) => c.name);

  test('untouched, the rules are taken again; a chain made by hand is seen by the next observation', async () => {
    await run(['iptables', '-N', 'by-hand-1'], { netns: node });
    const first = await observeKept();
    assert.ok(chainsOf(first).includes('by-hand-1'));
    const savesBefore = saves.length;
    const again = await observeKept();
    assert.equal(saves.length, savesBefore, 'no iptables-save while nothing was committed');
    assert.deepEqual(chainsOf(again), chainsOf(first));

    await run(['iptables', '-N', 'by-hand-2'], { netns: node });
    await run(['ip6tables', '-N', 'by-hand-6'], { netns: node });
    // The monitor's line may come a moment after the commit: the next observations read again until it has.
    let seen = await k.observe(scopeFor({ namespaces: { [HOST]: emptyDesiredNamespace() } }));
    for (let i = 0; i < 50 && !chainsOf(seen).includes('by-hand-2'); i++) {
      await sleep(20);
      seen = await k.observe(scopeFor({ namespaces: { [HOST]: emptyDesiredNamespace() } }));
    }
    assert.ok(chainsOf(seen).includes('by-hand-2'), 'a change by another process is read');
    assert.ok((seen.namespaces[HOST]!.ip6tables?.filter ?? []).some((c) => c.name === 'by-hand-6'));
  });

  test("neutrino's own apply is read back at once, and a drifted rule is repaired", async () => {
    const host = emptyDesiredNamespace();
    host.iptables = firewall(INSTANCE_1, 'tap3c338602-d8');
    const want: DesiredNode = { namespaces: { [HOST]: host } };
    await observeKept();
    const first = await reconcile(k, want);
    assert.ok(first.converged, JSON.stringify(first.remaining));
    assert.ok(first.plan.ops.length > 0);
    // Converged and quiet: a pass with nothing to do takes the rules again.
    await observeKept();
    assert.deepEqual((await reconcile(k, want)).plan.ops, []);

    const chain = host.iptables.filter!.find((c) => c.rules.length > 0)!;
    await run(['iptables', '-F', chain.name], { netns: node });
    const r = await reconcileUntilPlanned(k, want);
    assert.ok(r.plan.ops.length > 0, 'the flushed chain is seen');
    assert.ok(r.converged, JSON.stringify(r.remaining));
    const saved = (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout;
    assert.ok(saved.includes(`-A ${chain.name} ${chain.rules[0]}`), saved);
  });

  test('a monitor that ended is started again, and no mark from before it ended matches one after', async () => {
    const watch = new RulesetWatch(node, 0);
    try {
      const listening = async () => {
        for (let i = 0; i < 250; i++) {
          const m = watch.mark();
          if (m !== null) return m;
          await sleep(20);
        }
        assert.fail('the monitor never listened');
      };
      const before = await listening();
      const pid = watch.pid!;
      process.kill(pid, 'SIGKILL');
      while (watch.pid === pid) await sleep(10);
      // Changed while nobody listened: the marks must tell.
      await run(['iptables', '-N', 'while-deaf'], { netns: node });
      const after = await listening();
      assert.notEqual(watch.pid, pid, 'a new monitor');
      assert.notEqual(after, before);
    } finally {
      watch.close();
    }
  });

  test('the monitor ends with the process that started it, even killed by SIGKILL', async () => {
    const script = [
      `import { RulesetWatch } from ${JSON.stringify(new URL('../../src/exec/ruleset-watch.ts', import.meta.url).href)};`,
      `const w = new RulesetWatch(${JSON.stringify(node)});`,
      'const wait = () => (w.mark() === null ? setTimeout(wait, 20) : console.log(w.pid));',
      'wait();',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const monitorPid = Number(
      await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))),
    );
    assert.ok(monitorPid > 1 && existsSync(`/proc/${monitorPid}`));
    child.kill('SIGKILL');
    for (let i = 0; i < 100 && existsSync(`/proc/${monitorPid}/cmdline`) && readFileSync(`/proc/${monitorPid}/cmdline`, 'utf8'); i++)
      await sleep(20);
    assert.equal(
      existsSync(`/proc/${monitorPid}/cmdline`) ? readFileSync(`/proc/${monitorPid}/cmdline`, 'utf8') : '',
      '',
      'the monitor ended',
    );
  });

  test('close() ends the monitor: observations read every time after it', async () => {
    await k.close();
    const before = k.rulesetReads.read;
    const scope = scopeFor({ namespaces: { [HOST]: emptyDesiredNamespace() } });
    await k.observe(scope);
    await k.observe(scope);
    assert.equal(k.rulesetReads.read, before + 2);
  });
});
