// Root test: [vxlan] l2_population = false (Neutron's VXLAN MCAST mode) and udp_dstport/ttl/tos: two
// nodes in namespaces whose VXLAN devices, as the planner makes them, have no fdb entries and reach
// each other through the multicast group alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { scopeFor, type ScopeOptions } from '../../src/kernel/scope.ts';
import { HOST, type DesiredNode } from '../../src/kernel/types.ts';
import type { NetworkView } from '../../src/model/hostview.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import type { VxlanSettings } from '../../src/planner/facts.ts';
import { uplink } from '../../src/planner/l2.ts';
import { INSTANCE_1, INSTANCE_2, NETWORK_ID, VNI, scenarioNode, type Instance } from './topology.ts';
import { isRoot, ping, removeAll, twoNodes, uniquePrefix } from './sandbox.ts';

const prefix = uniquePrefix();
const SETTINGS: VxlanSettings = { dstport: 4790, ttl: 32, tos: 16, l2Population: false, group: '239.1.0.0/16' };
const NET: NetworkView = {
  id: NETWORK_ID,
  name: 'selfservice',
  network_type: 'vxlan',
  physical_network: null,
  segmentation_id: VNI,
  mtu: 1450,
  admin_state_up: true,
  router_external: false,
};

/** The scenario's node with the planner's VXLAN device for these settings, and (as without l2population) no fdb or ARP entries. */
function multicastNode(localIp: string, remoteIp: string, vmNetns: string, local: Instance, remote: Instance): DesiredNode {
  const node = scenarioNode({ mgmtDev: 'eth1', localIp, remoteIp, vmNetns, local, remote, firewall: false });
  const facts = {
    host: 'n',
    roles: ['l2' as const],
    localIp,
    localIpDevice: 'eth1',
    physicalInterfaceMappings: {},
    statePath: '/nonexistent',
    presentTaps: new Set<string>(),
    vxlan: SETTINGS,
  };
  const host = node.namespaces[HOST]!;
  host.links = host.links.map((l) => (l.kind === 'vxlan' ? uplink(NET, facts)! : l));
  host.fdb = [];
  host.neigh = [];
  return node;
}

describe(
  'two nodes joined by VXLAN 41 over a multicast group',
  { skip: isRoot() ? false : 'needs root (namespaces, bridges, vxlan)' },
  () => {
    let node1 = '';
    let node2 = '';
    const vm1 = `${prefix}node1-vm`;
    const vm2 = `${prefix}node2-vm`;
    const opts1: ScopeOptions = { prefixes: [`${prefix}node1-`] };
    const opts2: ScopeOptions = { prefixes: [`${prefix}node2-`] };
    let want1: DesiredNode;
    let want2: DesiredNode;

    before(async () => {
      ({ node1, node2 } = await twoNodes(prefix));
      want1 = multicastNode('192.168.0.104', '192.168.0.105', vm1, INSTANCE_1, INSTANCE_2);
      want2 = multicastNode('192.168.0.105', '192.168.0.104', vm2, INSTANCE_2, INSTANCE_1);
      for (const [netns, want, opts] of [
        [node1, want1, opts1],
        [node2, want2, opts2],
      ] as const) {
        const r = await reconcile(new RealKernel({ hostNetns: netns }), want, opts);
        assert.equal(r.error, undefined, String(r.error));
        assert.deepEqual(r.remaining, { ops: [], unresolved: [] });
      }
    });

    after(async () => {
      await removeAll(prefix);
    });

    test('the kernel holds the settings: group of VNI 41, UDP port, ttl, tos, learning; no permanent fdb entry toward a VTEP', async () => {
      const seen = await new RealKernel({ hostNetns: node1 }).observe(scopeFor(want1, opts1));
      const host = seen.namespaces[HOST]!;
      const vx = host.links.find((l) => l.name === 'vxlan-41')!;
      assert.deepEqual(vx.vxlan, {
        vni: 41,
        local: '192.168.0.104',
        dev: 'eth1',
        dstport: 4790,
        learning: true,
        proxy: false,
        group: '239.1.0.41',
        ttl: 32,
        tos: 16,
      });
      assert.deepEqual(
        host.fdb.filter((f) => f.dev === 'vxlan-41' && f.state === 'permanent' && f.dst !== undefined && f.dst !== '239.1.0.41'),
        [],
      );
    });

    test('the instances ping each other: ARP and the first packets are flooded to the group, the rest learnt', async () => {
      assert.ok(await ping(vm1, INSTANCE_2.ip), 'vm1 → vm2');
      assert.ok(await ping(vm2, INSTANCE_1.ip), 'vm2 → vm1');
      // What the devices learnt: the other instance's MAC behind the other VTEP.
      const fdb = (await run(['bridge', 'fdb', 'show', 'dev', 'vxlan-41'], { netns: node1 })).stdout;
      assert.match(fdb, new RegExp(`${INSTANCE_2.mac} dst 192\\.168\\.0\\.105`));
    });

    test('a node on another group is cut off: the group is what carries the traffic', async () => {
      await run(['ip', 'link', 'del', 'vxlan-41'], { netns: node2 });
      const other = structuredClone(want2);
      const vx = other.namespaces[HOST]!.links.find((l) => l.kind === 'vxlan');
      if (vx?.kind === 'vxlan') vx.vxlan.group = '239.1.0.42';
      assert.ok((await reconcile(new RealKernel({ hostNetns: node2 }), other, opts2)).converged);
      await run(['ip', 'neigh', 'flush', 'all'], { netns: vm1 });
      assert.equal(await ping(vm1, INSTANCE_2.ip, 1), false);
      // Back on the group computed for VNI 41: traffic again (the diff recreates the device).
      const back = await reconcile(new RealKernel({ hostNetns: node2 }), want2, opts2);
      assert.ok(back.converged, JSON.stringify(back.remaining));
      assert.ok(await ping(vm1, INSTANCE_2.ip), 'vm1 → vm2 once both are on the group again');
    });
  },
);
