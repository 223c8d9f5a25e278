// Root test: a router with an IPv6 SLAAC interface on the real kernel. A node namespace with the
// provider NIC to an "external" host (10.123.123.1, 2001:db8:e::1) and an instance namespace on the
// self-service network: the router converges with radvd running Neutron's config, the instance
// autoconfigures its SLAAC address from radvd's advertisements and reaches the router and, routed
// without NAT, the external host over IPv6; a killed radvd is started again by the next pass, and
// it is stopped when the router loses its IPv6 interface.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planNode, type NodeFacts } from '../../src/planner/index.ts';
import type { HostView } from '../../src/model/hostview.ts';
import { eui64Address } from '../../src/model/ip.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { radvdPidPath, radvdProcessId } from '../../src/planner/radvd.ts';
import { isRoot, nodeWithInstance, removeAll, uniquePrefix } from './sandbox.ts';
import { dualStack, qr, router, SELF6, SELF_SUB, view } from '../helpers/router-view.ts';

const prefix = uniquePrefix();
const ROUTER = randomUUID();
const NS = `qrouter-${ROUTER}`;
const VM_MAC = 'fa:16:3e:a7:f7:5a';
const SLAAC_ADDRESS = eui64Address('fd00:1::/64', VM_MAC)!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).length > 0;

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function ping6(netns: string, ip: string): Promise<boolean> {
  try {
    await run(['ping', '-6', '-c', '1', '-W', '2', ip], { netns, timeoutMs: 5000 });
    return true;
  } catch {
    return false;
  }
}

describe('an IPv6 router with radvd on the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, radvd)' }, () => {
  const node = `${prefix}node`;
  const ext = `${prefix}ext`;
  const inst = `${prefix}vm`;
  let statePath = '';
  let facts: NodeFacts;
  const pidFile = () => radvdPidPath(statePath, ROUTER);
  const radvdPid = async () => Number((await readFile(pidFile(), 'utf8').catch(() => '')).trim()) || null;
  const apply = async (v: HostView) => {
    const { desired } = planNode(v, facts);
    // As the agent's full pass: the router's radvd is looked for even when it is no longer wanted.
    const processes = { [NS]: [{ id: radvdProcessId(ROUTER), pidFile: pidFile(), files: [] }] };
    return reconcile(new RealKernel({ hostNetns: node }), { ...desired, owner: node }, { processes });
  };
  // The instance's port: bound here, with its IPv4 address and the SLAAC address it will make.
  const withInstance = (v: HostView): HostView => {
    const vm = { ...qr, id: '3c338602-d806-488a-ae66-c4c8f8d13b9b', mac_address: VM_MAC, device_owner: 'compute:nova', device_id: 'vm' };
    vm.fixed_ips = [
      { subnet_id: SELF_SUB, ip_address: '172.16.1.3' },
      { subnet_id: SELF6, ip_address: SLAAC_ADDRESS },
    ];
    return { ...v, ports: [...v.ports, vm] };
  };
  const slaac = () => withInstance(dualStack('slaac', '2001:db8:e::1', ROUTER).view);

  before(async () => {
    statePath = await mkdtemp(join(tmpdir(), 'neutrino-l3v6-'));
    facts = {
      host: 'controller',
      roles: ['l3'],
      localIp: '192.168.0.104',
      localIpDevice: 'eth1',
      physicalInterfaceMappings: { provider: 'eth2' },
      statePath,
      radvdUser: 'root',
      presentTaps: new Set(['tap3c338602-d8']),
    };
    await nodeWithInstance({ node, inst, ext, tap: 'tap3c338602-d8', mac: VM_MAC });
    // The external host routes the self-service prefix back to the router's gateway address: no NAT.
    await run(['ip', '-batch', '-'], {
      netns: ext,
      stdin: 'link set lo up\naddr add 10.123.123.1/24 dev eth0\naddr add 2001:db8:e::1/64 dev eth0 nodad\nlink set eth0 up\n',
    });
    await run(['ip', '-6', 'route', 'add', 'fd00:1::/64', 'via', '2001:db8:e::5', 'dev', 'eth0'], { netns: ext });
    // The instance has only its MAC and link: its IPv6 address and default route come from radvd.
    await run(['ip', 'link', 'set', 'eth0', 'mtu', '1450'], { netns: inst });
  });

  after(async () => {
    // radvd outlives its namespace: stop the one this test started, by its PID.
    const pid = await radvdPid();
    if (pid !== null && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).startsWith('radvd')) process.kill(pid, 'SIGKILL');
    await run(['ip', 'netns', 'del', NS]).catch(() => undefined);
    await removeAll(prefix);
    await rm(statePath, { recursive: true, force: true });
  });

  test('the plan converges with radvd running Neutron’s config from the agent’s state dir', async () => {
    const r = await apply(slaac());
    assert.equal(r.error, undefined, String(r.error));
    assert.deepEqual(r.remaining, { ops: [], unresolved: [] });
    const pid = await radvdPid();
    assert.ok(pid !== null && (await alive(pid)), 'radvd runs');
    const conf = await readFile(join(statePath, 'ra', `${ROUTER}.radvd.conf`), 'utf8');
    assert.match(conf, /^interface qr-0b1c2d3e-4f\n/);
    assert.match(conf, /prefix fd00:1::\/64/);
    const sysctl = (await run(['sysctl', '-n', 'net.ipv6.conf.all.forwarding', 'net.ipv6.conf.qg-7a8b9c0d-1e.accept_ra'], { netns: NS }))
      .stdout;
    assert.deepEqual(sysctl.trim().split('\n'), ['1', '0']);
    const route = (await run(['ip', '-6', 'route', 'show', 'default'], { netns: NS })).stdout;
    assert.match(route, /default via 2001:db8:e::1 dev qg-7a8b9c0d-1e/);
    assert.deepEqual((await apply(slaac())).plan.ops, [], 'a second pass has nothing to do');
  });

  test('the instance autoconfigures its SLAAC address and default route from the advertisements', async () => {
    await until(`SLAAC address ${SLAAC_ADDRESS}`, async () => {
      const out = (await run(['ip', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], { netns: inst })).stdout;
      return out.includes(`${SLAAC_ADDRESS}/64`) && !out.includes('tentative');
    });
    const routes = (await run(['ip', '-6', 'route', 'show', 'default'], { netns: inst })).stdout;
    assert.match(routes, /default via fe80::[0-9a-f:]+ dev eth0 proto ra/);
  });

  test('the instance reaches the router’s gateway address and, routed without NAT, the external host', async () => {
    await until('ping6 fd00:1::1', () => ping6(inst, 'fd00:1::1'));
    await until('ping6 2001:db8:e::1', () => ping6(inst, '2001:db8:e::1'));
    // The external host sees the instance's own address: no IPv6 NAT.
    await until('ping6 back to the instance', () => ping6(ext, SLAAC_ADDRESS));
  });

  test('a killed radvd is started again by the next pass', async () => {
    const before = (await radvdPid())!;
    process.kill(before, 'SIGKILL');
    await until('radvd gone', async () => !(await alive(before)));
    const r = await apply(slaac());
    assert.ok(r.converged, JSON.stringify(r.remaining));
    assert.ok(r.plan.ops.some((o) => o.op === 'proc-start'));
    const after = await radvdPid();
    assert.ok(after !== null && after !== before && (await alive(after)), 'a new radvd runs');
  });

  test('a router without IPv6 interface stops its radvd', async () => {
    const pid = (await radvdPid())!;
    const v4only = withInstance(view([router({ id: ROUTER })]));
    const r = await apply(v4only);
    assert.ok(r.converged, JSON.stringify(r.remaining));
    assert.ok(r.plan.ops.some((o) => o.op === 'proc-stop'));
    assert.equal(await alive(pid), false);
  });
});
