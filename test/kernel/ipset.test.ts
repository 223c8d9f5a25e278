// Root test of remote-group rules through IP sets against the real kernel (ipset 7.17, iptables
// nf_tables): a node namespace with a flat network's bridge and three veth "instances"; the target
// allows tcp/8080 from the members of group G only. Real traffic shows who gets through; the sets
// are read back with `ipset save`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { remoteGroupIpset } from '../../src/kernel/names.ts';
import { HOST } from '../../src/kernel/types.ts';
import type { PortView, SecurityGroupView } from '../../src/model/hostview.ts';
import { parseNetnsList } from '../../src/observe/netns.ts';
import { planNode } from '../../src/planner/index.ts';
import {
  computeFacts,
  FLAT,
  INSTANCE,
  plugInstance as plugSgInstance,
  rule,
  scenarioGroup,
  SG_ID,
  sgPort,
  sgView,
} from '../helpers/sg-view.ts';
import { isRoot } from './sandbox.ts';

const prefix = `ntips-${randomBytes(2).toString('hex')}-`;
const node = `${prefix}node`;
const vm = (p: PortView) => `${prefix}vm-${p.id.slice(0, 6)}`;
const children: ChildProcess[] = [];

const G = 'a1a1a1a1-0000-4000-8000-00000000000a';
const SET = remoteGroupIpset(G, 'IPv4');
const A = sgPort('aaaa0001-0000-4000-8000-000000000001', '172.16.1.11', 'fa:16:3e:00:00:11', { security_groups: [SG_ID, G] });
const B = sgPort('bbbb0002-0000-4000-8000-000000000002', '172.16.1.12', 'fa:16:3e:00:00:12');
const PORTS = [INSTANCE, A, B];

const flat = FLAT;
const facts = computeFacts(PORTS);

/** The scenario group plus "ingress tcp/8080 from remote group G" (when `open`); G with `members`. */
function desired(members: string[], open = true) {
  const groupG: SecurityGroupView = { id: G, name: 'G', stateful: true, rules: [], member_ips: members };
  const extra = open ? [rule({ id: 'g8080', protocol: 'tcp', port_range_min: 8080, port_range_max: 8080, remote_group_id: G })] : [];
  return planNode(sgView(PORTS, [scenarioGroup(extra), groupG], flat), facts).desired;
}

const plugInstance = (p: PortView) => plugSgInstance(node, vm(p), p);

async function connects(from: PortView, port: number): Promise<boolean> {
  return run(['nc', '-z', '-w1', '172.16.1.3', String(port)], { netns: vm(from), timeoutMs: 5000 }).then(
    () => true,
    () => false,
  );
}

const ipsetSave = async () => (await run(['ipset', 'save'], { netns: node })).stdout;
const members = (save: string, name: string) =>
  save
    .split('\n')
    .filter((l) => l.startsWith(`add ${name} `))
    .map((l) => l.split(' ')[2])
    .sort();

describe(
  'remote-group rules through IP sets against the real kernel',
  { skip: isRoot() ? false : 'needs root (namespaces, iptables, ipset)' },
  () => {
    const k = new RealKernel({ hostNetns: node });

    before(async () => {
      await run(['ip', 'netns', 'add', node]);
      await run(['ip', '-batch', '-'], {
        netns: node,
        stdin: 'link set lo up\nlink add eth1 type veth peer name eth1p\nlink set eth1 up\nlink set eth1p up\n',
      });
      await run(['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1'], { netns: node }).catch(() => undefined);
      for (const p of PORTS) await plugInstance(p);
      const child = spawn('nsenter', [`--net=/run/netns/${vm(INSTANCE)}`, '--', 'nc', '-l', '-k', '-p', '8080'], { stdio: 'ignore' });
      children.push(child);
    });

    after(async () => {
      for (const c of children) if (c.pid !== undefined) c.kill('SIGKILL');
      if (!/^ntips-[0-9a-f]{4}-$/.test(prefix)) return;
      const names = parseNetnsList((await run(['ip', '-j', 'netns', 'list'])).stdout).filter((n) => n.startsWith(prefix));
      for (const ns of names) await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    });

    test('the set holds the members, the rule matches it: a member connects, a non-member does not; the second diff is empty', async () => {
      const want = desired(['172.16.1.11']);
      const r = await reconcile(k, want);
      assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
      const save = await ipsetSave();
      assert.match(save, new RegExp(`^create ${SET} hash:net family inet `, 'm'));
      assert.deepEqual(members(save, SET), ['172.16.1.11']);
      const rules = (await run(['iptables-save', '-t', 'filter'], { netns: node })).stdout;
      assert.match(rules, new RegExp(`-A neutron-linuxbri-i3c338602-d -p tcp -m tcp --dport 8080 -m set --match-set ${SET} src -j RETURN`));
      assert.equal(await connects(A, 8080), true, 'A is in G');
      assert.equal(await connects(B, 8080), false, 'B is not');
      assert.deepEqual((await reconcile(k, want)).plan.ops, [], 'nothing left to do');
    });

    test('membership changes touch the set alone: B joins and connects, A leaves and no longer does', async () => {
      const r = await reconcile(k, desired(['172.16.1.12']));
      assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
      assert.deepEqual(
        r.plan.ops.map((o) => o.op),
        ['ipset'],
        'no iptables rewrite',
      );
      assert.deepEqual(members(await ipsetSave(), SET), ['172.16.1.12']);
      assert.equal(await connects(B, 8080), true);
      assert.equal(await connects(A, 8080), false);
    });

    test('drift: a member removed by hand comes back; a stale owned set goes; a set made by hand stays', async () => {
      await run(['ipset', 'del', SET, '172.16.1.12'], { netns: node });
      await run(['ipset', 'restore', '-exist'], {
        netns: node,
        stdin: 'create NIPv4stale hash:net family inet\ncreate handset hash:ip family inet\n',
      });
      const r = await reconcile(k, desired(['172.16.1.12']));
      assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
      const save = await ipsetSave();
      assert.deepEqual(members(save, SET), ['172.16.1.12']);
      assert.doesNotMatch(save, /^create NIPv4stale /m);
      assert.match(save, /^create handset /m);
      await run(['ipset', 'destroy', 'handset'], { netns: node });
    });

    test('the rule removed: the chain is rewritten first, then the set destroyed; nobody connects', async () => {
      const r = await reconcile(k, desired(['172.16.1.12'], false));
      assert.equal(r.error, undefined);
      assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
      assert.deepEqual(
        r.plan.ops.map((o) => o.op),
        ['iptables', 'ipset-destroy'],
      );
      assert.doesNotMatch(await ipsetSave(), /NIPv4/);
      assert.equal(await connects(B, 8080), false);
      assert.ok(r.observed.namespaces[HOST]!.ipsets.length === 0);
    });
  },
);
