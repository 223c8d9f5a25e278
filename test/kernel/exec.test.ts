// Root tests of the executor: kernel error kinds from real commands, iptables rewrites, a dnsmasq managed by pid.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diff } from '../../src/kernel/diff.ts';
import { scopeFor } from '../../src/kernel/scope.ts';
import { emptyDesiredNamespace, HOST, type DesiredNode, type ProcessSpec } from '../../src/kernel/types.ts';
import { ExecError } from '../../src/exec/errors.ts';
import { stopProcess } from '../../src/exec/procs.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { firewall, INSTANCE_1 } from './topology.ts';
import { isRoot, removeAll, uniquePrefix } from './sandbox.ts';

const prefix = uniquePrefix();

describe('executor against the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, iptables, dnsmasq)' }, () => {
  const node = `${prefix}exec`;
  let dir = '';

  before(async () => {
    await run(['ip', 'netns', 'add', node]);
    dir = await mkdtemp(join(tmpdir(), 'neutrino-kernel-test-'));
  });

  after(async () => {
    // A daemon keeps its namespace alive: stop the one this test started (by the PID it wrote) first.
    if (dir) await stopProcess(join(dir, 'pid'));
    await removeAll(prefix);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('failures carry argv, exit code, stderr, the kernel error kind and the failing batch line', async () => {
    await run(['ip', 'link', 'add', 'br-t0', 'type', 'bridge'], { netns: node });
    const exists = await run(['ip', '-batch', '-'], { netns: node, stdin: 'link set lo up\nlink add br-t0 type bridge\n' }).catch(
      (e: unknown) => e,
    );
    assert.ok(exists instanceof ExecError);
    assert.equal(exists.kind, 'exists');
    assert.equal(exists.exitCode, 1);
    assert.equal(exists.failedLine, 'link add br-t0 type bridge');
    assert.deepEqual(exists.argv, ['ip', '-n', node, '-batch', '-']);
    const missing = await run(['ip', 'link', 'del', 'nope0'], { netns: node }).catch((e: unknown) => e);
    assert.ok(missing instanceof ExecError && missing.kind === 'not-found', String(missing));
    const noCmd = await run(['neutrino-no-such-command']).catch((e: unknown) => e);
    assert.ok(noCmd instanceof ExecError && noCmd.kind === 'no-command');
    const noNs = await run(['iptables-save'], { netns: `${prefix}absent` }).catch((e: unknown) => e);
    assert.ok(noNs instanceof ExecError && noNs.kind === 'not-found', String(noNs));
    await run(['ip', 'link', 'del', 'br-t0'], { netns: node });
  });

  test('iptables: neutron chains with physdev matches converge; a changed rule is rewritten in place; removal cleans up', async () => {
    const k = new RealKernel({ hostNetns: node });
    const host = emptyDesiredNamespace();
    host.iptables = firewall(INSTANCE_1, 'tap3c338602-d8');
    const want: DesiredNode = { namespaces: { [HOST]: host } };
    assert.ok((await reconcile(k, want)).converged, 'canonical rules round-trip through iptables-save');
    await run(['iptables', '-I', 'FORWARD', '1', '-s', '10.9.9.0/24', '-j', 'ACCEPT'], { netns: node });
    const ingress = host.iptables.filter!.find((c) => c.name === 'neutron-linuxbri-i3c338602-d')!;
    ingress.rules.splice(2, 1, '-p tcp -m tcp --dport 80 -j RETURN');
    const r = await reconcile(k, want);
    assert.ok(r.converged, JSON.stringify(r.remaining));
    assert.equal(r.plan.ops.length, 1);
    const saved = (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout;
    assert.match(saved, /-A neutron-linuxbri-i3c338602-d -p tcp -m tcp --dport 80 -j RETURN/);
    assert.match(saved, /-A FORWARD -s 10\.9\.9\.0\/24 -j ACCEPT/, 'a rule made by hand stays');
    host.iptables = {};
    assert.ok((await reconcile(k, want)).converged);
    const after = (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout;
    assert.doesNotMatch(after, /neutron-/);
    assert.match(after, /-A FORWARD -s 10\.9\.9\.0\/24 -j ACCEPT/);
  });

  test('dnsmasq: started in its namespace, SIGHUP on new files, restarted on new argv, stopped by PID', async () => {
    const k = new RealKernel({ hostNetns: node });
    const ns = `${prefix}exec-dhcp`;
    const dnsmasq = (extra: string[], hosts: string): ProcessSpec => ({
      id: 'dnsmasq-test',
      pidFile: join(dir, 'pid'),
      files: [{ path: join(dir, 'host'), content: hosts }],
      argv: [
        'dnsmasq',
        '--no-hosts',
        '--no-resolv',
        `--pid-file=${join(dir, 'pid')}`,
        `--dhcp-hostsfile=${join(dir, 'host')}`,
        `--dhcp-leasefile=${join(dir, 'leases')}`,
        '--conf-file=/dev/null',
        '--port=0',
        '--bind-interfaces',
        '--interface=lo',
        ...extra,
      ],
    });
    const want = (p: ProcessSpec | undefined): DesiredNode => {
      const space = emptyDesiredNamespace();
      if (p) space.processes.push(p);
      return { namespaces: { [ns]: space } };
    };
    const opts = { prefixes: [`${prefix}exec-`], processes: { [ns]: [{ id: 'dnsmasq-test', pidFile: join(dir, 'pid'), files: [] }] } };
    const first = await reconcile(k, want(dnsmasq([], 'fa:16:3e:a7:f7:5a,host-172-16-1-3,172.16.1.3\n')), opts);
    assert.ok(first.converged, String(first.error) + JSON.stringify(first.remaining));
    const pid = first.observed.namespaces[ns]!.processes[0]!.pid!;
    assert.ok(pid > 1);
    const netnsOfPid = (await run(['ip', 'netns', 'identify', String(pid)])).stdout.trim();
    assert.equal(netnsOfPid, ns, 'the daemon runs in its namespace');
    const reload = await reconcile(k, want(dnsmasq([], 'fa:16:3e:11:22:33,host-172-16-1-4,172.16.1.4\n')), opts);
    assert.deepEqual(
      reload.plan.ops.map((o) => o.op),
      ['proc-reload'],
    );
    assert.equal(reload.observed.namespaces[ns]!.processes[0]!.pid, pid, 'SIGHUP, same process');
    assert.match(await readFile(join(dir, 'host'), 'utf8'), /172\.16\.1\.4/);
    const restart = await reconcile(k, want(dnsmasq(['--dhcp-lease-max=16'], 'x\n')), opts);
    assert.deepEqual(
      restart.plan.ops.map((o) => o.op),
      ['proc-stop', 'proc-start'],
    );
    const pid2 = restart.observed.namespaces[ns]!.processes[0]!.pid!;
    assert.notEqual(pid2, pid);
    const stop = await reconcile(k, want(undefined), opts);
    assert.deepEqual(
      stop.plan.ops.map((o) => o.op),
      ['proc-stop'],
    );
    assert.ok(stop.converged);
    // Gone, or at most a zombie waiting for init (empty cmdline).
    assert.equal((await readFile(`/proc/${pid2}/cmdline`, 'utf8').catch(() => '')) || null, null, 'the daemon is gone');
    const gone = diff(want(undefined), await k.observe(scopeFor(want(undefined), opts)));
    assert.deepEqual(gone.ops, []);
  });
});
