// The tracer on a VLAN network: the demo lab's recorded healthy snapshot turned into the same cloud
// with selfservice as VLAN 100 of physical network `provider` (eth2 on controller, eth1 on compute1,
// the subinterfaces eth2.100 and eth1.100 where vxlan-41 was), then the VLAN hop's faults: the
// subinterface missing, a wrong VLAN id, its parent down, the physnet not mapped on a node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceFip } from '../../src/trace/walk/fip.ts';
import { contextFrom } from '../../src/trace/run.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { renderText } from '../../src/trace/render/render-text.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';
import { splitBatchJson, type Obj } from '../../src/observe/json.ts';
import { IP_OBSERVE_BATCH } from '../../src/observe/node.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const FIP = '10.123.123.104';
const VID = 100;
const NIC: Record<string, string> = { controller: 'eth2', compute1: 'eth1' };

/** Rewrites the links `ip -j -d link show` printed in a node's own namespace. */
function editLinks(snap: Snapshot, host: string, edit: (links: Obj[]) => Obj[]): void {
  const raw = snap.nodes[host]!.namespaces['']!;
  const docs = splitBatchJson(raw.ip, IP_OBSERVE_BATCH.length, 'fixture');
  docs[0] = edit(docs[0]!);
  raw.ip = docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
}

const setMapping = (snap: Snapshot, host: string, mappings: string) => {
  const cfg = snap.nodes[host]!.agentConfig;
  cfg.text = cfg.text!.replace(/^physical_interface_mappings = .*$/m, `physical_interface_mappings = ${mappings}`);
};

/** The healthy demo with selfservice on VLAN 100 of `provider`, wired as the planner wires it. */
async function vlanSnapshot(): Promise<Snapshot> {
  const snap = await loadSnapshot(join(fixtures, 'healthy'));
  const net = snap.api.networks.find((n) => n['name'] === 'selfservice')!;
  Object.assign(net, { 'provider:network_type': 'vlan', 'provider:physical_network': 'provider', 'provider:segmentation_id': VID });
  setMapping(snap, 'compute1', 'provider:eth1');
  for (const host of ['controller', 'compute1']) {
    editLinks(snap, host, (links) => {
      const vx = links.find((l) => l['ifname'] === 'vxlan-41')!;
      const ifindex = Math.max(...links.map((l) => l['ifindex'] as number)) + 1;
      const sub: Obj = {
        ...vx,
        ifindex: ifindex + 1,
        ifname: `${NIC[host]}.${VID}`,
        link: NIC[host],
        linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: VID, flags: ['REORDER_HDR'] } },
      };
      const out = links.filter((l) => l !== vx).concat(sub);
      // compute1 had no provider NIC when the fixture was recorded.
      if (!out.some((l) => l['ifname'] === NIC[host])) {
        const mgmt = links.find((l) => l['ifname'] === 'eth0')!;
        out.push({ ...mgmt, ifindex, ifname: NIC[host], address: '02:00:00:00:10:01' });
      }
      return out;
    });
  }
  return snap;
}

const trace = (snap: Snapshot) => traceFip(contextFrom(snap, 'snapshot vlan'), FIP, { flow: { protocol: 'icmp' }, source: '198.51.100.1' });

test('healthy VLAN network: the walk crosses eth2.100 on controller and eth1.100 on compute1, with VLAN id and parent', async () => {
  const report = trace(await vlanSnapshot());
  assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
  const vlanHops = report.hops.filter((h) => h.check === 'vlan');
  assert.deepEqual(
    vlanHops.map((h) => `${h.node} ${h.device}`),
    ['controller eth2.100', 'compute1 eth1.100'],
  );
  for (const h of vlanHops) {
    assert.deepEqual((h.expected as { vlan?: unknown }).vlan, { id: VID, dev: NIC[h.node!] });
    assert.deepEqual((h.observed as { vlan?: unknown }).vlan, { id: VID, dev: NIC[h.node!] });
  }
  assert.ok(!report.hops.some((h) => h.device === 'vxlan-41' || h.check === 'l2population'), 'no VXLAN hop on a VLAN network');
});

for (const [name, fault, want] of [
  [
    'subinterface missing',
    (s: Snapshot) => editLinks(s, 'compute1', (links) => links.filter((l) => l['ifname'] !== 'eth1.100')),
    {
      reason: 'VLAN_SUBINTERFACE_MISSING',
      device: 'eth1.100',
      cause: /eth1\.100 does not exist on compute1; .* creates it on eth1 .*VLAN 100/,
    },
  ],
  [
    'wrong VLAN id',
    (s: Snapshot) =>
      editLinks(s, 'compute1', (links) =>
        links.map((l) =>
          l['ifname'] === 'eth1.100' ? { ...l, linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 200 } } } : l,
        ),
      ),
    { reason: 'VLAN_MISCONFIGURED', device: 'eth1.100', cause: /VLAN id 200, not 100 \(the network's provider:segmentation_id\)/ },
  ],
  [
    'parent down',
    (s: Snapshot) =>
      editLinks(s, 'compute1', (links) =>
        links.map((l) => (l['ifname'] === 'eth1' ? { ...l, flags: ['BROADCAST', 'MULTICAST'], operstate: 'DOWN' } : l)),
      ),
    { reason: 'VLAN_PARENT_DOWN', device: 'eth1', cause: /eth1 on compute1 is administratively down .*carries eth1\.100's tagged frames/ },
  ],
  [
    'physnet not mapped',
    (s: Snapshot) => setMapping(s, 'compute1', ''),
    { reason: 'UPLINK_MISSING', device: null, cause: /compute1 has no interface for physical network 'provider'/ },
  ],
] as const) {
  test(`${name}: ${want.reason} on compute1, every hop before it ok`, async () => {
    const snap = await vlanSnapshot();
    fault(snap);
    const report = trace(snap);
    assert.equal(report.ok, false);
    const b = report.firstBroken!;
    assert.equal(b.reason, want.reason, b.cause);
    assert.equal(b.node, 'compute1');
    assert.equal(b.device, want.device);
    assert.match(b.cause, want.cause);
    assert.ok(
      report.hops.slice(0, b.index - 1).every((h) => h.status === 'ok'),
      'every hop before it is ok',
    );
    assert.match(renderText(report, { color: false, detail: false }), new RegExp(`STOPPED AT  hop ${b.index}: .*${want.reason}`));
  });
}

test('bridge_mappings: the flat provider network on an existing bridge br-ex — the walk checks it, and its ports in it', async () => {
  const snap = await loadSnapshot(join(fixtures, 'healthy'));
  const provider = snap.api.networks.find((n) => n['name'] === 'provider')!;
  const brq = `brq${provider.id.slice(0, 11)}`;
  const cfg = snap.nodes['controller']!.agentConfig;
  cfg.text = cfg.text!.replace(/^(physical_interface_mappings = .*)$/m, '$1\nbridge_mappings = provider:br-ex');
  editLinks(snap, 'controller', (links) =>
    links.map((l) => ({
      ...l,
      ...(l['ifname'] === brq ? { ifname: 'br-ex', ifalias: undefined } : {}),
      ...(l['master'] === brq ? { master: 'br-ex' } : {}),
    })),
  );
  const report = trace(snap);
  assert.equal(report.ok, true, JSON.stringify(report.firstBroken));
  assert.ok(
    report.hops.some((h) => h.device === 'br-ex' && h.check === 'bridge' && h.setting?.includes('bridge_mappings = provider:br-ex')),
  );
  assert.ok(!report.hops.some((h) => h.device === brq));

  // The bridge down: the hop on it says so.
  editLinks(snap, 'controller', (links) => links.map((l) => (l['ifname'] === 'br-ex' ? { ...l, flags: ['BROADCAST'] } : l)));
  const down = trace(snap).firstBroken!;
  assert.deepEqual([down.node, down.device, down.reason], ['controller', 'br-ex', 'DEVICE_DOWN']);
});
