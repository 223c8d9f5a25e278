// The tracer's expectation is the agent's: for each host, the HostView rebuilt from what the
// Networking API shows (standard attributes, the agents' reports, l3-agents / dhcp-agents) equals
// the view the server sends that host's agent — so planning it gives the agent's own plan.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther, created } from '../helpers/networking.ts';
import { hostViewFromApi } from '../../src/trace/expect/expect-view.ts';
import { expectedNode, namespacesToRead } from '../../src/trace/expect/expect.ts';
import type { ApiObject, ApiResources } from '../../src/trace/snapshot.ts';
import { hostDump } from '../helpers/trace-dump.ts';
import { planNode } from '../../src/planner/index.ts';
import { HOST } from '../../src/kernel/types.ts';
import { bridgeName, tapName } from '../../src/kernel/names.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
const HOSTS = ['controller', 'compute1', 'compute2'];

const report = (agent_type: string, host: string, configurations: object = {}) =>
  admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } });

async function ok<T = any>(p: Promise<{ status: number; body: any }>): Promise<T> {
  const r = await p;
  assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Everything the tracer reads, over HTTP as an admin, the way a tracer would on any Neutron cloud. */
async function readApi(): Promise<ApiResources> {
  const list = async (path: string, key: string) => (await ok(admin.get(path)))[key] as ApiObject[];
  const [networks, subnets, ports, routers, floatingips, security_groups, agents] = await Promise.all([
    list('/networks', 'networks'),
    list('/subnets', 'subnets'),
    list('/ports', 'ports'),
    list('/routers', 'routers'),
    list('/floatingips', 'floatingips'),
    list('/security-groups', 'security_groups'),
    list('/agents', 'agents'),
  ]);
  const hostsOf = async (path: string) => ((await ok(admin.get(path))).agents as ApiObject[]).map((a) => a['host'] as string);
  const router_hosts: Record<string, string[]> = {};
  for (const r of routers) router_hosts[r.id] = await hostsOf(`/routers/${r.id}/l3-agents`);
  const dhcp_hosts: Record<string, string[]> = {};
  for (const n of networks) dhcp_hosts[n.id] = await hostsOf(`/networks/${n.id}/dhcp-agents`);
  return { networks, subnets, ports, routers, floatingips, security_groups, agents, router_hosts, dhcp_hosts };
}

const serverView = async (host: string) => (await ok(admin.get(`/neutrino/hosts/${host}/view`))).view;

async function assertParity(label: string): Promise<ApiResources> {
  const api = await readApi();
  for (const host of HOSTS) {
    const server = await serverView(host);
    const mine = hostViewFromApi(api, host, server.revision);
    assert.deepEqual(mine, server, `${label}: ${host}'s view from the API differs from the server's`);
  }
  return api;
}

// A server per test: each builds the scenario it checks, so it passes alone.
beforeEach(async () => {
  srv = await startTestServer();
  ({ admin, demo } = await adminDemoOther(srv.url));
  await ok(report('Linux bridge agent', 'controller', { tunneling_ip: '192.168.0.104', interface_mappings: { provider: 'eth2' } }));
  await ok(report('Linux bridge agent', 'compute1', { tunneling_ip: '192.168.0.105', interface_mappings: {} }));
  await ok(report('DHCP agent', 'controller'));
  await ok(report('L3 agent', 'controller'));
});
afterEach(() => srv.close());

/** The canonical scenario: provider and selfservice, the router, group `web`, vm1 on compute1 behind the floating IP, vm2 on the controller. */
async function canonicalScenario() {
  const provider = await created(
    admin.post('/networks', {
      network: {
        name: 'provider',
        shared: true,
        'router:external': true,
        'provider:network_type': 'flat',
        'provider:physical_network': 'provider',
      },
    }),
    'network',
  );
  const providerSubnet = await created(
    admin.post('/subnets', {
      subnet: {
        name: 'provider',
        network_id: provider.id,
        ip_version: 4,
        cidr: '10.123.123.0/24',
        gateway_ip: '10.123.123.1',
        allocation_pools: [{ start: '10.123.123.100', end: '10.123.123.200' }],
        dns_nameservers: ['8.8.4.4'],
      },
    }),
    'subnet',
  );
  const self = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  const selfSubnet = await created(
    demo.post('/subnets', {
      subnet: {
        name: 'selfservice',
        network_id: self.id,
        ip_version: 4,
        cidr: '172.16.1.0/24',
        gateway_ip: '172.16.1.1',
        dns_nameservers: ['8.8.4.4'],
        host_routes: [{ destination: '10.0.0.0/8', nexthop: '172.16.1.254' }],
      },
    }),
    'subnet',
  );
  const router = await created(demo.post('/routers', { router: { name: 'router' } }), 'router');
  await ok(
    admin.put(`/routers/${router.id}`, {
      router: {
        external_gateway_info: {
          network_id: provider.id,
          external_fixed_ips: [{ subnet_id: providerSubnet.id, ip_address: '10.123.123.102' }],
        },
      },
    }),
  );
  await ok(demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id }));

  // A group with ICMP, SSH, and a remote-group rule toward the project's default group.
  const sg = await created(demo.post('/security-groups', { security_group: { name: 'web' } }), 'security_group');
  const def = (await ok(demo.get('/security-groups?name=default'))).security_groups[0];
  const rule = (r: object) =>
    created(
      demo.post('/security-group-rules', {
        security_group_rule: { security_group_id: sg.id, direction: 'ingress', ethertype: 'IPv4', ...r },
      }),
      'security_group_rule',
    );
  await rule({ protocol: 'icmp' });
  await rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22 });
  await rule({ protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: def.id });

  const vm = (name: string, host: string, extra: object) =>
    created(
      admin.post('/ports', {
        port: {
          name,
          network_id: self.id,
          device_owner: 'compute:nova',
          device_id: `${name}-id`,
          'binding:host_id': host,
          project_id: self.project_id,
          ...extra,
        },
      }),
      'port',
    );
  const vm1 = await vm('vm1', 'compute1', {
    security_groups: [sg.id],
    fixed_ips: [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.3' }],
  });
  // Groups given against id order: the server reads a port's groups by id.
  const vm2 = await vm('vm2', 'controller', {
    security_groups: [def.id, sg.id].sort().reverse(),
    allowed_address_pairs: [{ ip_address: '172.16.1.200' }],
  });
  const fip = await created(
    admin.post('/floatingips', {
      floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.104', project_id: self.project_id },
    }),
    'floatingip',
  );
  await ok(demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: vm1.id } }));
  return { provider, self, selfSubnet, router, sg, def, vm1, vm2, fip };
}

test('the canonical scenario: every host’s view rebuilt from the API equals the server’s', async () => {
  const { provider, self, router, sg, def, vm1, vm2 } = await canonicalScenario();

  const api = await assertParity('scenario');
  // The parity is not vacuous: each host sees what the scenario put there.
  const c = hostViewFromApi(api, 'controller');
  assert.deepEqual(
    c.routers.map((r) => [
      r.id,
      r.gateway?.port.fixed_ips[0]?.ip_address,
      r.interfaces.map((i) => i.subnets.map((s) => s.cidr)),
      r.floating_ips.map((f) => f.floating_ip_address),
    ]),
    [[router.id, '10.123.123.102', [['172.16.1.0/24']], ['10.123.123.104']]],
  );
  assert.deepEqual(c.dhcp_networks.sort(), [provider.id, self.id].sort());
  assert.deepEqual(
    c.remote_ports.map((p) => [p.host, p.vtep, p.ip_addresses]),
    [['compute1', '192.168.0.105', ['172.16.1.3']]],
  );
  const k = hostViewFromApi(api, 'compute1');
  assert.deepEqual(
    k.ports.map((p) => p.id),
    [vm1.id],
  );
  assert.deepEqual(k.remote_vteps, [{ network_id: self.id, host: 'controller', vtep: '192.168.0.104' }]);
  const web = k.security_groups.find((g) => g.id === sg.id)!;
  assert.deepEqual(
    web.rules
      .map((r) => `${r.direction} ${r.protocol} ${r.port_range_min}`)
      .filter((r) => r.startsWith('ingress'))
      .sort(),
    ['ingress icmp null', 'ingress tcp 22', 'ingress tcp 5432'],
  );
  assert.ok(k.security_groups.find((g) => g.id === def.id)!.member_ips.includes(vm2.fixed_ips[0].ip_address));
  assert.deepEqual(hostViewFromApi(api, 'compute2'), { ...(await serverView('compute2')), revision: 0 });
});

test('after changes (a second network and subnet, ports moved, a rule deleted, the floating IP moved), the views still agree', async () => {
  const scenario = await canonicalScenario();
  // net3 is listed before net2 but scheduled to DHCP after it.
  const net3 = await created(demo.post('/networks', { network: { name: 'net3' } }), 'network');
  const net2 = await created(demo.post('/networks', { network: { name: 'net2' } }), 'network');
  const sub2 = await created(demo.post('/subnets', { subnet: { network_id: net2.id, ip_version: 4, cidr: '172.16.2.0/24' } }), 'subnet');
  await created(demo.post('/subnets', { subnet: { network_id: net3.id, ip_version: 4, cidr: '172.16.3.0/24' } }), 'subnet');
  const sub1b = await created(
    demo.post('/subnets', { subnet: { network_id: scenario.self.id, ip_version: 4, cidr: '172.16.9.0/24', enable_dhcp: false } }),
    'subnet',
  );
  await ok(demo.put(`/routers/${scenario.router.id}/add_router_interface`, { subnet_id: sub2.id }));
  const vm3 = await created(
    admin.post('/ports', {
      port: {
        name: 'vm3',
        network_id: net2.id,
        device_owner: 'compute:nova',
        device_id: 'vm3-id',
        'binding:host_id': 'compute2',
        fixed_ips: [{ subnet_id: sub2.id }],
      },
    }),
    'port',
  );
  const vm2 = (
    await ok(
      admin.put(`/ports/${scenario.vm2.id}`, {
        port: { 'binding:host_id': 'compute1', fixed_ips: [{ subnet_id: sub1b.id }, { subnet_id: scenario.selfSubnet.id }] },
      }),
    )
  ).port;
  await ok(report('Linux bridge agent', 'compute2', { tunneling_ip: '192.168.0.106' }));
  const rules = (await ok(demo.get(`/security-group-rules?security_group_id=${scenario.sg.id}&protocol=icmp`))).security_group_rules;
  assert.equal((await demo.del(`/security-group-rules/${rules[0].id}`)).status, 204);
  await ok(
    demo.put(`/floatingips/${scenario.fip.id}`, {
      floatingip: {
        port_id: scenario.vm2.id,
        fixed_ip_address: vm2.fixed_ips.find((f: any) => f.subnet_id === scenario.selfSubnet.id).ip_address,
      },
    }),
  );
  await ok(demo.put(`/ports/${vm3.id}`, { port: { admin_state_up: false } }));
  const api = await assertParity('after changes');
  // By id, as the server reads its bindings.
  const served = hostViewFromApi(api, 'controller').dhcp_networks;
  assert.ok(served.includes(net2.id) && served.includes(net3.id), served.join(' '));
  assert.deepEqual(served, [...served].sort());
  assert.deepEqual(
    hostViewFromApi(api, 'compute2').ports.map((p) => p.id),
    [vm3.id],
  );
  assert.equal(hostViewFromApi(api, 'controller').routers[0]!.interfaces.length, 2);
});

test("port forwardings: the router's forwardings rebuilt from the floating IPs' port_forwardings equal the server's", async () => {
  const { provider, self, vm2, router } = await canonicalScenario();
  const free = await created(
    admin.post('/floatingips', {
      floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.110', project_id: self.project_id },
    }),
    'floatingip',
  );
  const pfs = `/floatingips/${free.id}/port_forwardings`;
  const ip = vm2.fixed_ips[0].ip_address;
  for (const [protocol, external_port, internal_port] of [
    ['tcp', 2222, 22],
    ['udp', 53, 53],
  ] as const) {
    await created(
      admin.post(pfs, { port_forwarding: { internal_port_id: vm2.id, internal_ip_address: ip, protocol, external_port, internal_port } }),
      'port_forwarding',
    );
  }
  const api = await assertParity('port forwardings');
  const r = hostViewFromApi(api, 'controller').routers.find((x) => x.id === router.id)!;
  assert.deepEqual(
    r
      .port_forwardings!.map((f) => `${f.floating_ip_address} ${f.protocol}/${f.external_port} ${f.internal_ip_address}:${f.internal_port}`)
      .sort(),
    [`10.123.123.110 tcp/2222 ${ip}:22`, `10.123.123.110 udp/53 ${ip}:53`],
  );
});

test('a network of several segments: each host’s view from the API equals the server’s, each host wiring the segment it can', async () => {
  const multi = await created(
    admin.post('/networks', {
      network: {
        name: 'multi',
        segments: [
          { 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
          { 'provider:network_type': 'vxlan', 'provider:segmentation_id': 77 },
        ],
      },
    }),
    'network',
  );
  const taps = new Set<string>();
  for (const host of ['controller', 'compute1']) {
    const port = await created(
      admin.post('/ports', { port: { network_id: multi.id, 'binding:host_id': host, device_owner: 'compute:nova' } }),
      'port',
    );
    taps.add(tapName(port.id));
  }
  const api = await assertParity('several segments');
  const uplinks = (host: string, facts: { localIp: string; mappings: Record<string, string> }) =>
    planNode(hostViewFromApi(api, host), {
      host,
      roles: ['l2'],
      localIp: facts.localIp,
      localIpDevice: 'eth1',
      physicalInterfaceMappings: facts.mappings,
      statePath: '/var/lib/neutrino',
      presentTaps: taps,
    })
      .desired.namespaces[HOST]!.links.filter((l) => l.master === bridgeName(multi.id) && !taps.has(l.name))
      .map((l) => l.name);
  // The controller maps the flat segment's physical network; compute1 has only its tunnel endpoint.
  assert.deepEqual(uplinks('controller', { localIp: '192.168.0.104', mappings: { provider: 'eth2' } }), ['eth2']);
  assert.deepEqual(uplinks('compute1', { localIp: '192.168.0.105', mappings: {} }), ['vxlan-77']);
});

test('expectedNode plans a host from the API and its dump as the agent would; namespacesToRead names what to read', async () => {
  const scenario = await canonicalScenario();
  const api = await readApi();
  const scope = namespacesToRead(api, 'controller');
  assert.deepEqual(scope.namespaces, [
    '',
    `qrouter-${scenario.router.id}`,
    ...hostViewFromApi(api, 'controller').dhcp_networks.map((n) => `qdhcp-${n}`),
  ]);
  const qg = `qg-${hostViewFromApi(api, 'controller').routers[0]!.gateway!.port.id.slice(0, 11)}`;
  assert.deepEqual(scope.sysctls[`qrouter-${scenario.router.id}`], [
    'net.ipv4.ip_forward',
    'net.ipv4.conf.all.arp_ignore',
    'net.ipv4.conf.all.arp_announce',
    'net.ipv6.conf.all.forwarding',
    `net.ipv6.conf.${qg}.accept_ra`,
    `net.ipv6.conf.${qg}.forwarding`,
  ]);
  assert.deepEqual(scope.conntrack, [`qrouter-${scenario.router.id}`]);
  assert.deepEqual(namespacesToRead(api, 'compute1'), { namespaces: [''], sysctls: {}, conntrack: [] });

  const config = [
    '[DEFAULT]',
    'host = controller',
    'state_path = /var/lib/neutrino/x',
    '[neutrino]',
    'roles = l2,dhcp,l3',
    '[linux_bridge]',
    'physical_interface_mappings = provider:eth2',
    '[vxlan]',
    'local_ip = 192.168.0.104',
    '',
  ].join('\n');
  const dump = hostDump('controller', config, [
    ['eth1', '192.168.0.104/24'],
    ['eth2', null],
    [`tap${scenario.vm2.id.slice(0, 11)}`, null],
  ]);
  const e = expectedNode(api, dump);
  assert.deepEqual(e.facts.roles, ['l2', 'dhcp', 'l3']);
  assert.equal(e.facts.localIpDevice, 'eth1');
  assert.equal(e.sources.local_ip?.setting, '[vxlan] local_ip');
  // The agent's plan: the server's view of the host, planned with these facts.
  const plan = planNode(await serverView('controller'), e.facts);
  assert.deepEqual(e.desired, { ...plan.desired, owner: 'controller' });
  assert.deepEqual(e.plugged, plan.plugged);
  assert.ok(e.desired.namespaces[`qrouter-${scenario.router.id}`], 'the router namespace is planned on the controller');
  const host = e.desired.namespaces['']!;
  const vxlan = host.links.find((l) => l.kind === 'vxlan');
  assert.equal(vxlan?.kind === 'vxlan' && vxlan.vxlan.dev, 'eth1');
  assert.ok(host.links.some((l) => l.name === 'eth2' && 'master' in l && l.master === `brq${scenario.provider.id.slice(0, 11)}`));
});
