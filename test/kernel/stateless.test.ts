// Root test of stateless security groups: the firewall node of firewall.test.ts, two instances on a
// flat network, the planner's chains and raw rules applied through RealKernel + diff; real traffic
// shows that with `stateful: false` an echo request allowed in gets no reply unless a rule lets the
// reply out (no conntrack state to match), while a stateful group with the same rules answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import type { PortView, SecurityGroupView } from '../../src/model/hostview.ts';
import { planNode } from '../../src/planner/index.ts';
import { parseNetnsList } from '../../src/observe/netns.ts';
import { computeFacts, FLAT, INSTANCE, makeFirewallNode, OTHER, plugInstance, rule, scenarioGroup, sgView } from '../helpers/sg-view.ts';
import { isRoot } from './sandbox.ts';

const prefix = `ntsl-${randomBytes(2).toString('hex')}-`;
const node = `${prefix}node`;
const vm = (p: PortView) => `${prefix}vm-${p.id.slice(0, 8)}${p.id.slice(-2)}`;
const GROUP = '7d0f6b1e-3c2a-4e5f-8a9b-0c1d2e3f4a5b';

/** INSTANCE's group: ICMP in (and `egress` rules out), stateful or not. */
function group(stateful: boolean, egress: SecurityGroupView['rules'] = []): SecurityGroupView {
  return {
    id: GROUP,
    name: 'ping-in',
    stateful,
    member_ips: ['172.16.1.3'],
    rules: [rule({ id: 'icmp-in', protocol: 'icmp' }), ...egress],
  };
}

async function pings(from: string, ip: string): Promise<boolean> {
  for (let i = 0; i < 2; i++) {
    const ok = await run(['ping', '-c', '1', '-W', '1', ip], { netns: from, timeoutMs: 5000 }).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

/** Plans and applies: INSTANCE in `g`, OTHER in the scenario's (stateful) group. */
async function apply(k: RealKernel, g: SecurityGroupView) {
  const instance = { ...INSTANCE, security_groups: [GROUP] };
  const { desired } = planNode(sgView([instance, OTHER], [g, scenarioGroup()], FLAT), computeFacts([INSTANCE, OTHER]));
  const r = await reconcile(k, desired);
  assert.ok(r.converged, JSON.stringify(r.remaining, null, 1));
  const again = await reconcile(k, desired);
  assert.equal(again.plan.ops.length, 0, JSON.stringify(again.plan.ops));
}

describe('stateless security groups against the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, iptables)' }, () => {
  const k = new RealKernel({ hostNetns: node });

  before(async () => {
    await makeFirewallNode(node);
    await plugInstance(node, vm(INSTANCE), INSTANCE);
    await plugInstance(node, vm(OTHER), OTHER);
  });

  after(async () => {
    if (!/^ntsl-[0-9a-f]{4}-$/.test(prefix)) return;
    const names = parseNetnsList((await run(['ip', '-j', 'netns', 'list'])).stdout).filter((n) => n.startsWith(prefix));
    for (const ns of names) await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
  });

  test('stateful, ICMP in only: the echo reply leaves as part of the connection', async () => {
    await apply(k, group(true));
    assert.doesNotMatch((await run(['iptables-save', '-t', 'raw'], { netns: node })).stdout, /notrack/);
    assert.ok(await pings(vm(OTHER), '172.16.1.3'));
  });

  test('stateless, ICMP in only: the request gets in, the reply is dropped on its way out', async () => {
    await apply(k, group(false));
    const raw = (await run(['iptables-save', '-t', 'raw'], { netns: node })).stdout;
    assert.match(raw, /-A PREROUTING -j neutron-linuxbri-PREROUTING/);
    assert.match(raw, /-A neutron-linuxbri-PREROUTING -m physdev --physdev-in tap3c338602-d8 .*-j CT --notrack/);
    assert.match(raw, /-A neutron-linuxbri-PREROUTING -d 172\.16\.1\.3\/32 -i brq\S+ .*-j CT --notrack/);
    assert.match((await run(['ip6tables-save', '-t', 'raw'], { netns: node })).stdout, /--physdev-in tap3c338602-d8 .*-j CT --notrack/);
    assert.equal(await pings(vm(OTHER), '172.16.1.3'), false, 'no egress rule: the echo reply is dropped');
    // The request did arrive: the instance's ingress rule counted it.
    const counts = (await run(['iptables-save', '-c', '-t', 'filter'], { netns: node })).stdout;
    assert.match(counts, /\[[1-9]\d*:\d+\] -A neutron-linuxbri-i3c338602-d -p icmp -j RETURN/);
  });

  test('stateless with an ICMP egress rule: the reply has its own rule and passes', async () => {
    await apply(k, group(false, [rule({ id: 'icmp-out', direction: 'egress', protocol: 'icmp' })]));
    assert.ok(await pings(vm(OTHER), '172.16.1.3'));
  });

  test('back to stateful: the raw rules go, the reply passes without an egress rule', async () => {
    await apply(k, group(true));
    assert.doesNotMatch((await run(['iptables-save', '-t', 'raw'], { netns: node })).stdout, /neutron-linuxbri-PREROUTING/);
    assert.ok(await pings(vm(OTHER), '172.16.1.3'));
  });
});
