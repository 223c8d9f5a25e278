// The picture's model (src/web/topology.ts, resources.ts) on the tracer's recorded snapshots: nodes,
// namespaces and devices with Neutron's names, bridge ports, veth pairs and the VXLAN tunnel; each
// recorded fault on its device with the tracer's reason; standing iptables faults on the device or
// namespace they concern; a real Neutron agent's node (zed) read the same way, with no fault;
// resources linked to the devices that realise them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import { viewOf } from '../../src/web/state.ts';
import type { Topology, TopologyDevice } from '../../src/web/topology.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const FIP = '10.123.123.104';

const viewAt = async (name: string) => viewOf(await loadSnapshot(join(fixtures, name)), `snapshot ${name}`);

function devices(t: Topology): Array<TopologyDevice & { host: string; ns: string }> {
  return t.nodes.flatMap((n) => n.namespaces.flatMap((ns) => ns.devices.map((d) => ({ ...d, host: n.host, ns: ns.name }))));
}
const faulty = (t: Topology) => devices(t).filter((d) => d.faults.length > 0);

test('healthy: both nodes, the router namespace, every Neutron device ok, bridge ports, veths and the tunnel', async () => {
  const { topology: t, resources } = await viewAt('healthy');
  assert.deepEqual(
    t.nodes.map((n) => n.host),
    ['compute1', 'controller'],
  );
  assert.deepEqual(faulty(t), []);
  const all = devices(t);
  const router = t.nodes.find((n) => n.host === 'controller')!.namespaces.find((ns) => ns.name.startsWith('qrouter-'))!;
  assert.ok(router, 'the router namespace');
  const names = (host: string) => all.filter((d) => d.host === host).map((d) => d.name);
  for (const prefix of ['brq', 'vxlan-41', 'tap'])
    assert.ok(
      names('compute1').some((n) => n.startsWith(prefix)),
      prefix,
    );
  for (const prefix of ['brq', 'vxlan-41', 'qr-', 'qg-', 'ns-'])
    assert.ok(
      names('controller').some((n) => n.startsWith(prefix)),
      prefix,
    );
  for (const d of all.filter((d) => /^(tap|brq|vxlan-|qr-|qg-|ns-)/.test(d.name))) assert.equal(d.status, 'ok', d.id);
  const tap = all.find((d) => d.host === 'compute1' && d.name.startsWith('tap'))!;
  assert.ok(tap.master?.startsWith('brq'));
  assert.ok(t.edges.some((e) => e.kind === 'bridge' && e.from === tap.id && e.to === `compute1//${tap.master}`));
  // the router's qr- device is a veth whose peer is in the node's own namespace, in the tenant bridge
  const qr = router.devices.find((d) => d.name.startsWith('qr-'))!;
  assert.ok(t.edges.some((e) => e.kind === 'veth' && [e.from, e.to].includes(qr.id)));
  const tunnel = t.edges.filter((e) => e.kind === 'tunnel');
  assert.deepEqual(
    tunnel.map((e) => [e.from, e.to, e.status]),
    [['compute1//vxlan-41', 'controller//vxlan-41', 'ok']],
  );
  assert.match(tunnel[0]!.label!, /^VNI 41 \d+\.\d+\.\d+\.\d+ ↔ \d+\.\d+\.\d+\.\d+$/);
  // the floating IP is realised by the router's qg- device and the instance's tap
  const fip = resources.resources.find((r) => r.type === 'floatingip' && r.label === FIP)!;
  assert.deepEqual(fip.devices, [router.devices.find((d) => d.name.startsWith('qg-'))!.id, tap.id]);
  const net = resources.resources.find((r) => r.type === 'network' && r.devices.includes(tap.id))!;
  assert.ok(net.devices.includes('compute1//vxlan-41') && net.devices.includes('controller//vxlan-41'));
});

test('tap-down: the instance tap is down, with the tracer’s reason and cause', async () => {
  const { topology: t } = await viewAt('tap-down');
  const [d, ...more] = faulty(t);
  assert.deepEqual(more, []);
  assert.equal(d!.host, 'compute1');
  assert.match(d!.name, /^tap/);
  assert.equal(d!.status, 'down');
  assert.equal(d!.faults[0]!.reason, 'DEVICE_DOWN');
  assert.match(d!.faults[0]!.cause, /is administratively down \(ip link set tap\S+ up\)/);
  assert.equal(t.summary.down, 1);
});

test('fdb-missing: the controller’s vxlan-41 lacks its forwarding entry toward compute1, and the tunnel shows it', async () => {
  const { topology: t } = await viewAt('fdb-missing');
  const [d, ...more] = faulty(t);
  assert.deepEqual(more, []);
  assert.equal(d!.id, 'controller//vxlan-41');
  assert.equal(d!.faults[0]!.reason, 'NO_FDB_ENTRY');
  const compute1 = t.nodes.find((n) => n.host === 'compute1')!;
  assert.match(d!.faults[0]!.cause, new RegExp(`toward ${compute1.vtep!.replace(/\./g, '\\.')}`));
  assert.equal(t.edges.find((e) => e.kind === 'tunnel')!.status, 'missing');
});

test('devices the Networking API does not account for are unexpected: a deleted port leaves its tap, bridge and vxlan', async () => {
  const snap = await loadSnapshot(join(fixtures, 'healthy'));
  const fip = snap.api.floatingips.find((f) => f['floating_ip_address'] === FIP)!;
  const port = snap.api.ports.find((p) => p.id === fip['port_id'])!;
  snap.api.floatingips = snap.api.floatingips.filter((f) => f !== fip);
  snap.api.ports = snap.api.ports.filter((p) => p !== port);
  const { topology: t } = viewOf(snap, 'edited');
  // compute1 had only this port: nothing of its network is wanted there any more
  assert.deepEqual(
    faulty(t).map((d) => [d.id, d.status]),
    [
      [`compute1//tap${port.id.slice(0, 11)}`, 'unexpected'],
      [`compute1//brq${String(port['network_id']).slice(0, 11)}`, 'unexpected'],
      ['compute1//vxlan-41', 'unexpected'],
    ].sort((a, b) => faultOrder(t, a[0]!) - faultOrder(t, b[0]!)),
  );
  for (const d of faulty(t)) assert.match(d.faults[0]!.cause, /on compute1 matches no resource of the Networking API/);
});

const faultOrder = (t: Topology, id: string) => devices(t).findIndex((d) => d.id === id);

const nsFaults = (t: Topology) =>
  t.nodes.flatMap((n) => n.namespaces.flatMap((ns) => ns.faults.map((f) => ({ ns: `${n.host}/${ns.name}`, ...f }))));

test('standing iptables faults: a floating IP’s DNAT gone is the router namespace’s NAT_RULE_MISSING, without a trace', async () => {
  const { topology: t } = await viewAt('dnat-missing');
  const router = nsFaults(t).filter((f) => f.ns.startsWith('controller/qrouter-'));
  const dnat = router.find((f) => f.reason === 'NAT_RULE_MISSING')!;
  assert.match(
    dnat.cause,
    /^iptables nat has no '-A neutron-l3-agent-PREROUTING -d 10\.123\.123\.104\/32 -j DNAT --to-destination 172\.16\.1\.3' in qrouter-/,
  );
  // The recording predates the agent's metadata REDIRECT: the picture names that too, and nothing else.
  assert.deepEqual(router.map((f) => f.reason).sort(), ['METADATA_REDIRECT_MISSING', 'NAT_RULE_MISSING']);
  assert.deepEqual(
    (await viewAt('healthy')).topology.nodes.flatMap((n) => n.namespaces.flatMap((ns) => ns.faults.map((f) => f.reason))),
    ['METADATA_REDIRECT_MISSING'],
  );
});

test('standing iptables faults: a port’s chain gone is its tap’s SG_CHAIN_MISSING; a DROP added by hand is the namespace’s', async () => {
  const snap = await loadSnapshot(join(fixtures, 'healthy'));
  const fip = snap.api.floatingips.find((f) => f['floating_ip_address'] === FIP)!;
  const chain = `neutron-linuxbri-i${String(fip['port_id']).slice(0, 10)}`;
  const host = snap.nodes['compute1']!.namespaces['']!;
  host.iptablesSave = host
    .iptablesSave!.split('\n')
    .filter((l) => !l.includes(chain))
    .join('\n')
    .replace('\n-A FORWARD ', '\n-A FORWARD -s 172.16.1.0/24 -j DROP\n-A FORWARD ');
  const { topology: t } = viewOf(snap, 'edited');
  const tap = devices(t).find((d) => d.id === `compute1//tap${String(fip['port_id']).slice(0, 11)}`)!;
  assert.equal(tap.status, 'missing');
  assert.deepEqual(
    tap.faults.map((f) => f.reason),
    ['SG_CHAIN_MISSING'],
  );
  assert.match(tap.faults[0]!.cause, new RegExp(`^iptables filter chain ${chain} is missing on compute1: `));
  const root = nsFaults(t).filter((f) => f.ns === 'compute1/');
  assert.deepEqual(
    root.map((f) => [f.reason, f.status]),
    [['IPTABLES_RULE_UNEXPECTED', 'mismatch']],
  );
  assert.match(root[0]!.cause, /has '-A FORWARD -s 172\.16\.1\.0\/24 -j DROP' on compute1, which the agent never writes/);
});

test('real Neutron (zed): its agents’ devices read and matched by the same readers, without a fault', async () => {
  for (const name of ['real-neutron-zed/healthy-fip', 'real-neutron-zed/healthy-port-to-external']) {
    const { topology: t, resources } = await viewAt(name);
    assert.deepEqual(faulty(t), [], name);
    // Its own iptables (more chains and rules than neutrino writes) hold every rule the tracer checks.
    assert.deepEqual(nsFaults(t), [], name);
    const all = devices(t);
    for (const prefix of ['tap', 'brq', 'vxlan-', 'qr-', 'qg-'])
      assert.ok(
        all.some((d) => d.name.startsWith(prefix)),
        `${name}: ${prefix}`,
      );
    assert.ok(t.edges.some((e) => e.kind === 'tunnel'));
    for (const r of resources.resources.filter((r) => r.type === 'router' || r.type === 'floatingip'))
      assert.ok(r.devices.length > 0, `${name}: ${r.type} ${r.label}`);
  }
});
