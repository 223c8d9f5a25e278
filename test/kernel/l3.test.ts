// Root test: the L3 role's plan on the real kernel. A node namespace with the provider NIC eth2 to an
// "external" host 10.123.123.1, an instance on the self-service network behind a router: the
// router namespace converges (the NAT rules are in iptables-save's canonical form), the instance
// reaches the external host through SNAT, and the external host reaches it through its floating IP.
import { NO_ADDRESS_SCOPES } from '../../src/model/router-view.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { planNode, type NodeFacts } from '../../src/planner/index.ts';
import type { HostView, PortView, RouterView } from '../../src/model/hostview.ts';
import { RealKernel } from '../../src/exec/real.ts';
import { reconcile } from '../../src/exec/reconcile.ts';
import { run } from '../../src/exec/run.ts';
import { isRoot, nodeWithInstance, ping, removeAll, uniquePrefix } from './sandbox.ts';
import { routerSubnet } from '../helpers/router-view.ts';

const prefix = uniquePrefix();
const ROUTER = randomUUID();
const NS = `qrouter-${ROUTER}`;
const SELF = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
const SELF_SUB = '11111111-2222-3333-4444-555555555555';
const EXT = '5b3c1f0e-8d2a-4e6b-9c7d-0a1b2c3d4e5f';
const EXT_SUB = '66666666-7777-8888-9999-000000000000';

const port = (id: string, net: string, sub: string, owner: string, ip: string, mac: string): PortView => ({
  id,
  network_id: net,
  mac_address: mac,
  fixed_ips: [{ subnet_id: sub, ip_address: ip }],
  device_owner: owner,
  device_id: ROUTER,
  admin_state_up: true,
  port_security_enabled: false,
  security_groups: [],
  allowed_address_pairs: [],
  extra_dhcp_opts: [],
  binding_host_id: 'controller',
});
const qr = port('0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9', SELF, SELF_SUB, 'network:router_interface', '172.16.1.1', 'fa:16:3e:00:01:01');
const qg = port('7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d', EXT, EXT_SUB, 'network:router_gateway', '10.123.123.102', 'fa:16:3e:00:01:02');
const vm = {
  ...port('3c338602-d806-488a-ae66-c4c8f8d13b9b', SELF, SELF_SUB, 'compute:nova', '172.16.1.3', 'fa:16:3e:a7:f7:5a'),
  device_id: 'vm',
};
const FIP = {
  id: 'f1f1f1f1-0000-4000-8000-000000000001',
  floating_ip_address: '10.123.123.104',
  fixed_ip_address: '172.16.1.3',
  port_id: vm.id,
};

const router = (fips: RouterView['floating_ips']): RouterView => ({
  id: ROUTER,
  name: 'router',
  admin_state_up: true,
  enable_snat: true,
  gateway: { port: qg, subnets: [routerSubnet(EXT_SUB, '10.123.123.0/24', '10.123.123.1')], address_scopes: NO_ADDRESS_SCOPES },
  interfaces: [{ port: qr, subnets: [routerSubnet(SELF_SUB, '172.16.1.0/24', '172.16.1.1')], address_scopes: NO_ADDRESS_SCOPES }],
  floating_ips: fips,
  routes: [],
});
const view = (fips: RouterView['floating_ips']): HostView => ({
  host: 'controller',
  revision: 1,
  networks: [
    {
      id: SELF,
      name: 'selfservice',
      network_type: 'vxlan',
      physical_network: null,
      segmentation_id: 41,
      mtu: 1450,
      admin_state_up: true,
      router_external: false,
    },
    {
      id: EXT,
      name: 'provider',
      network_type: 'flat',
      physical_network: 'provider',
      segmentation_id: null,
      mtu: 1500,
      admin_state_up: true,
      router_external: true,
    },
  ],
  subnets: [
    {
      id: SELF_SUB,
      network_id: SELF,
      ip_version: 4,
      cidr: '172.16.1.0/24',
      gateway_ip: '172.16.1.1',
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
      enable_dhcp: false,
      dns_nameservers: [],
      host_routes: [],
      allocation_pools: [],
    },
    {
      id: EXT_SUB,
      network_id: EXT,
      ip_version: 4,
      cidr: '10.123.123.0/24',
      gateway_ip: '10.123.123.1',
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
      enable_dhcp: false,
      dns_nameservers: [],
      host_routes: [],
      allocation_pools: [],
    },
  ],
  ports: [qr, qg, vm],
  remote_ports: [],
  remote_vteps: [],
  security_groups: [],
  dhcp_networks: [],
  dhcp_ports: [],
  routers: [router(fips)],
});

describe('a router namespace on the real kernel', { skip: isRoot() ? false : 'needs root (namespaces, bridges, iptables)' }, () => {
  const node = `${prefix}node`;
  const ext = `${prefix}ext`;
  const inst = `${prefix}vm`;
  const facts: NodeFacts = {
    host: 'controller',
    roles: ['l3'],
    localIp: '192.168.0.104',
    localIpDevice: 'eth1',
    physicalInterfaceMappings: { provider: 'eth2' },
    statePath: '/tmp',
    presentTaps: new Set(['tap3c338602-d8']),
  };
  const kernel = () => new RealKernel({ hostNetns: node });
  const apply = async (fips: RouterView['floating_ips']) => {
    const { desired } = planNode(view(fips), facts);
    return reconcile(kernel(), { ...desired, owner: node }, {});
  };

  before(async () => {
    await nodeWithInstance({ node, inst, ext, tap: 'tap3c338602-d8', mac: 'fa:16:3e:a7:f7:5a' });
    await run(['ip', '-batch', '-'], { netns: ext, stdin: 'link set lo up\naddr add 10.123.123.1/24 dev eth0\nlink set eth0 up\n' });
    await run(['ip', '-batch', '-'], {
      netns: inst,
      stdin: 'link set eth0 mtu 1450\naddr add 172.16.1.3/24 dev eth0\nroute add default via 172.16.1.1\n',
    });
  });

  after(async () => {
    await run(['ip', 'netns', 'del', NS]).catch(() => undefined);
    await removeAll(prefix);
  });

  test('the plan converges: the second diff is empty (rules in canonical form)', async () => {
    const r = await apply([FIP]);
    assert.equal(r.error, undefined, String(r.error));
    assert.deepEqual(r.remaining, { ops: [], unresolved: [] });
    const again = await apply([FIP]);
    assert.deepEqual(again.plan.ops, [], 'a second pass has nothing to do');
  });

  test('iptables -t nat -S in the namespace shows the floating IP DNAT', async () => {
    const out = (await run(['iptables', '-t', 'nat', '-S'], { netns: NS })).stdout;
    assert.match(out, /-A neutron-l3-agent-PREROUTING -d 10\.123\.123\.104\/32 -j DNAT --to-destination 172\.16\.1\.3/);
    assert.match(out, /-A neutron-l3-agent-snat -o qg-7a8b9c0d-1e -j SNAT --to-source 10\.123\.123\.102/);
  });

  test('the instance reaches the external host (SNAT); the external host reaches the floating IP', async () => {
    assert.ok(await ping(inst, '10.123.123.1'), 'instance → external');
    assert.ok(await ping(ext, '10.123.123.104'), 'external → floating IP');
  });

  test('disassociating removes the address and the rules; traffic to the floating IP stops', async () => {
    const r = await apply([]);
    assert.ok(r.converged, JSON.stringify(r.remaining));
    const out = (await run(['iptables', '-t', 'nat', '-S'], { netns: NS })).stdout;
    assert.doesNotMatch(out, /10\.123\.123\.104/);
    const addrs = (await run(['ip', '-o', 'addr', 'show'], { netns: NS })).stdout;
    assert.doesNotMatch(addrs, /10\.123\.123\.104/);
    assert.equal(await ping(ext, '10.123.123.104', 1), false);
    assert.ok(await ping(inst, '10.123.123.1'), 'SNAT still works');
  });

  test('extra routes: one next hop a plain route, several a multipath route; converged, then removed', async () => {
    const withRoutes = (routes: RouterView['routes']) => {
      const v = view([]);
      v.routers = v.routers.map((r) => ({ ...r, routes }));
      return reconcile(kernel(), { ...planNode(v, facts).desired, owner: node }, {});
    };
    const routes = [
      { destination: '10.9.0.0/24', nexthop: '172.16.1.3' },
      { destination: '10.8.0.0/24', nexthop: '172.16.1.3' },
      { destination: '10.8.0.0/24', nexthop: '172.16.1.4' },
    ];
    const r = await withRoutes(routes);
    assert.ok(r.converged, JSON.stringify(r.remaining));
    assert.deepEqual((await withRoutes(routes)).plan.ops, [], 'a second pass has nothing to do');
    const shown = (await run(['ip', 'route', 'show'], { netns: NS })).stdout;
    assert.match(shown, /^10\.9\.0\.0\/24 via 172\.16\.1\.3 dev qr-0b1c2d3e-4f proto 149/m);
    assert.match(
      shown,
      /^10\.8\.0\.0\/24 proto 149 \n\s+nexthop via 172\.16\.1\.3 dev qr-0b1c2d3e-4f weight 1 \n\s+nexthop via 172\.16\.1\.4 /m,
    );
    assert.ok((await withRoutes([])).converged);
    assert.doesNotMatch((await run(['ip', 'route', 'show'], { netns: NS })).stdout, /10\.[89]\.0\.0/);
  });
});
