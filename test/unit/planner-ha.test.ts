// HA routers in the L3 planner (Neutron's ha_router.py and keepalived.py): the `ha-` port on the HA
// network with its address, keepalived with Neutron's config (VRRP instance, primary VIP, the
// router's addresses and floating IPs as excluded VIPs, default and extra routes as virtual routes),
// no address or route of the router's own on qr-/qg- (keepalived's, on the active node), the
// standby side wired though its ports are bound elsewhere; and the state read from the primary VIP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNode } from '../../src/planner/index.ts';
import { controllerFacts, dualStack, NS, qg, qr, ROUTER, router, view } from '../helpers/router-view.ts';
import type { HostView, PortView } from '../../src/model/hostview.ts';
import { keepalivedConfig, primaryVip, primaryVipRange } from '../../src/planner/keepalived.ts';
import { HaStateReporter, haWatches, stateFromAddresses } from '../../src/agent/ha-state.ts';
import type { NeutrinoClient } from '../../src/client/neutrino.ts';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { HOST } from '../../src/kernel/types.ts';

const HA_NET = 'cccccccc-0000-4000-8000-00000000000c';
const HA_SUB = 'dddddddd-0000-4000-8000-00000000000d';
const haPort: PortView = {
  ...qr,
  id: 'e5e5e5e5-1111-4222-8333-944445555666',
  network_id: HA_NET,
  mac_address: 'fa:16:3e:00:0a:0a',
  fixed_ips: [{ subnet_id: HA_SUB, ip_address: '169.254.192.7' }],
  device_owner: 'network:router_ha_interface',
};

/** `v` with its HA network and this host's ha- port (the router's own ports stay as they are). */
function withHaNetwork(v: HostView): HostView {
  v.networks.push({ ...v.networks[0]!, id: HA_NET, name: 'HA network tenant p', segmentation_id: 42 });
  v.ports = [...v.ports, haPort];
  return v;
}

/** The standby side: the router's own ports bound to network2, this host's ha- port here. */
function haView(): HostView {
  const elsewhere = (p: PortView) => ({ ...p, binding_host_id: 'network2' });
  const r = router({
    routes: [{ destination: '192.0.2.0/24', nexthop: '172.16.1.10' }],
    gateway: { ...router().gateway!, port: elsewhere(qg) },
    interfaces: router().interfaces.map((i) => ({ ...i, port: elsewhere(i.port) })),
    ha: { vr_id: 7, port: haPort, cidr: '169.254.192.0/18', state: 'standby' },
  });
  const v = view([r]);
  v.networks.push({ ...v.networks[0]!, id: HA_NET, name: 'HA network tenant p', segmentation_id: 42 });
  v.ports = [haPort];
  return v;
}

test('keepalived with Neutron’s config; qr-/qg- without addresses or routes of the agent; ha- with its address', () => {
  const plan = planNode(haView(), controllerFacts(['l2', 'l3']));
  const ns = plan.desired.namespaces[NS]!;
  assert.deepEqual(ns.addresses, [{ dev: 'ha-e5e5e5e5-11', address: '169.254.192.7/18' }]);
  assert.deepEqual(ns.routes, []);
  assert.deepEqual(ns.daemonAddressDevices, ['ha-e5e5e5e5-11', 'qr-0b1c2d3e-4f', 'qg-7a8b9c0d-1e']);
  assert.ok(ns.links.some((l) => l.name === 'qr-0b1c2d3e-4f') && ns.links.some((l) => l.name === 'qg-7a8b9c0d-1e'));
  assert.ok(ns.sysctls.some((s) => s.key === 'net.ipv6.conf.qr-0b1c2d3e-4f.addr_gen_mode' && s.value === '1'));
  // The standby wires the router's networks although none of its ports is bound here.
  const bridges = plan.desired.namespaces[HOST]!.links.filter((l) => l.kind === 'bridge').map((l) => l.name);
  assert.equal(bridges.length, 3);
  const [keepalived] = ns.processes.filter((p) => p.id === `keepalived-${ROUTER}`);
  assert.deepEqual(keepalived!.argv.slice(0, 2), ['keepalived', '-P']);
  assert.equal(
    keepalived!.files[0]!.content,
    `global_defs {
    notification_email_from neutron@openstack.local
    router_id neutron
}
vrrp_instance VR_7 {
    state BACKUP
    interface ha-e5e5e5e5-11
    virtual_router_id 7
    priority 50
    garp_master_delay 60
    nopreempt
    advert_int 2
    track_interface {
        ha-e5e5e5e5-11
    }
    virtual_ipaddress {
        169.254.0.7/24 dev ha-e5e5e5e5-11
    }
    virtual_ipaddress_excluded {
        10.123.123.102/24 dev qg-7a8b9c0d-1e no_track
        10.123.123.104/32 dev qg-7a8b9c0d-1e no_track
        172.16.1.1/24 dev qr-0b1c2d3e-4f no_track
        fe80::f816:3eff:fe00:101/64 dev qr-0b1c2d3e-4f scope link no_track
        fe80::f816:3eff:fe00:102/64 dev qg-7a8b9c0d-1e scope link no_track
    }
    virtual_routes {
        0.0.0.0/0 via 10.123.123.1 dev qg-7a8b9c0d-1e no_track protocol static
        192.0.2.0/24 via 172.16.1.10 no_track protocol static
    }
}
`,
  );
});

test('the primary VIP range leaves out the HA network, and the VRRP state comes from the primary VIP on ha-', () => {
  assert.equal(primaryVipRange('169.254.192.0/18'), '169.254.0.0/24');
  assert.equal(primaryVipRange('169.254.0.0/18'), '169.254.128.0/24');
  assert.equal(primaryVip('169.254.192.0/18', 254), '169.254.0.254/24');
  assert.match(
    keepalivedConfig({ vrId: 1, haDev: 'ha-x', haCidr: '169.254.192.0/18', advertInt: 1, vips: [], routes: [] }),
    /advert_int 1\n/,
  );
  const [w] = haWatches(haView());
  assert.deepEqual(w, { routerId: ROUTER, namespace: NS, dev: 'ha-e5e5e5e5-11', vip: '169.254.0.7/24' });
  const standby = '5: ha-e5e5e5e5-11    inet 169.254.192.7/18 brd 169.254.255.255 scope global ha-e5e5e5e5-11\\       valid_lft forever';
  assert.equal(stateFromAddresses(standby, w!.vip), 'standby');
  assert.equal(stateFromAddresses(`${standby}\n5: ha-e5e5e5e5-11    inet 169.254.0.7/24 scope global ha-e5e5e5e5-11\\`, w!.vip), 'active');
  assert.equal(stateFromAddresses(`5: ha-e5e5e5e5-11    inet 169.254.0.70/24 scope global`, w!.vip), 'standby');
});

const sysctlsOf = (v: HostView, primary: boolean) =>
  Object.fromEntries(
    planNode(v, { ...controllerFacts(['l2', 'l3']), haPrimary: new Set(primary ? [ROUTER] : []) }).desired.namespaces[NS]!.sysctls.map(
      (x) => [x.key, x.value],
    ),
  );

test('IPv6 forwarding is on where the router is primary only; a standby leaves it as the kernel has it', () => {
  const standby = sysctlsOf(haView(), false);
  // Off since the namespace was made (no MLD report from the shared MACs), and never turned off again.
  assert.equal(standby['net.ipv6.conf.all.forwarding'], undefined);
  assert.equal(standby['net.ipv6.conf.qg-7a8b9c0d-1e.forwarding'], undefined);
  assert.equal(standby['net.ipv6.conf.qg-7a8b9c0d-1e.accept_ra'], '0');
  // ACCEPT_RA_DISABLED on a standby's qr-: no SLAAC address from the primary's own advertisements.
  assert.equal(standby['net.ipv6.conf.qr-0b1c2d3e-4f.accept_ra'], '0');
  const primary = sysctlsOf(haView(), true);
  assert.equal(primary['net.ipv6.conf.qr-0b1c2d3e-4f.accept_ra'], '1');
  assert.equal(primary['net.ipv6.conf.all.forwarding'], '1');
  assert.equal(primary['net.ipv6.conf.qg-7a8b9c0d-1e.forwarding'], '1');
  assert.equal(primary['net.ipv6.conf.qg-7a8b9c0d-1e.accept_ra'], '2');
  // A router that is not HA is planned as before, whatever the set says.
  const legacy = Object.fromEntries(
    planNode(view([router()]), controllerFacts(['l2', 'l3'])).desired.namespaces[NS]!.sysctls.map((x) => [x.key, x.value]),
  );
  assert.equal(legacy['net.ipv6.conf.all.forwarding'], '1');
  assert.equal(legacy['net.ipv6.conf.qg-7a8b9c0d-1e.forwarding'], '1');
});

test('an HA router namespace binds non-local addresses on every node (HaRouterNamespace.create); a legacy one as the kernel has it', () => {
  assert.equal(sysctlsOf(haView(), false)['net.ipv4.ip_nonlocal_bind'], '1');
  assert.equal(sysctlsOf(haView(), true)['net.ipv4.ip_nonlocal_bind'], '1');
  const legacy = planNode(view([router()]), controllerFacts(['l2', 'l3'])).desired.namespaces[NS]!.sysctls;
  assert.ok(!legacy.some((x) => x.key === 'net.ipv4.ip_nonlocal_bind'));
});

test('radvd of an HA router runs on its primary node only', () => {
  const { view: v, router: r } = dualStack('slaac', null);
  r.ha = { vr_id: 7, port: haPort, cidr: '169.254.192.0/18', state: 'standby' };
  const radvd = (primary: boolean) =>
    planNode(withHaNetwork(structuredClone(v)), { ...controllerFacts(['l2', 'l3']), haPrimary: new Set(primary ? [ROUTER] : []) })
      .desired.namespaces[NS]!.processes.filter((p) => p.id.startsWith('radvd'))
      .map((p) => p.files[0]!.content);
  assert.deepEqual(radvd(false), []);
  const [conf] = radvd(true);
  assert.match(conf!, /^interface qr-0b1c2d3e-4f\n/);
  assert.match(conf!, /prefix fd00:1::\/64/);
});

test("the agent writes each router's state where Neutron's L3 agent keeps it (ha_confs/<router>/state), and reports it", async (t) => {
  const statePath = mkdtempSync(join(tmpdir(), 'neutrino-ha-state-'));
  t.after(() => rmSync(statePath, { recursive: true, force: true }));
  mkdirSync(join(statePath, 'ha_confs', ROUTER), { recursive: true });
  const reported: Array<Record<string, string>> = [];
  const client = { setHaRouterStates: async (_host: string, states: Record<string, string>) => void reported.push(states) };
  let addresses = '5: ha-e5e5e5e5-11    inet 169.254.192.7/18 scope global ha-e5e5e5e5-11';
  const run = async () => ({ stdout: addresses, stderr: '' });
  const ha = new HaStateReporter('controller', client as unknown as NeutrinoClient, pino({ level: 'silent' }), run, undefined, statePath);
  const file = join(statePath, 'ha_confs', ROUTER, 'state');
  await ha.check(haWatches(haView()));
  assert.equal(readFileSync(file, 'utf8'), 'backup');
  addresses += '\n5: ha-e5e5e5e5-11    inet 169.254.0.7/24 scope global ha-e5e5e5e5-11';
  await ha.check(haWatches(haView()));
  assert.equal(readFileSync(file, 'utf8'), 'primary');
  assert.deepEqual(reported, [{ [ROUTER]: 'standby' }, { [ROUTER]: 'active' }]);
});
