// nodeFactsFromDump: the planner's NodeFacts from a node's dump (agent configuration, observed
// links) and the API's agents, with where each configured value came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFactsFromDump } from '../../src/trace/expect/expect-facts.ts';
import type { ApiObject, ApiResources } from '../../src/trace/snapshot.ts';
import { AGENT_INI, hostDump } from '../helpers/trace-dump.ts';

const agent = (host: string, agent_type: string, configurations: object = {}): ApiObject => ({
  id: `${host}-${agent_type}`,
  host,
  agent_type,
  alive: true,
  configurations,
});

function apiWith(agents: ApiObject[]): ApiResources {
  return {
    networks: [],
    subnets: [],
    ports: [],
    routers: [],
    floatingips: [],
    security_groups: [],
    agents,
    router_hosts: {},
    dhcp_hosts: {},
  };
}

const API = apiWith([
  agent('compute1', 'Linux bridge agent', { tunneling_ip: '192.168.0.105', interface_mappings: { provider: 'eth1' } }),
  agent('controller', 'Linux bridge agent', { tunneling_ip: '192.168.0.104', interface_mappings: { provider: 'eth2' } }),
  agent('controller', 'DHCP agent'),
  agent('controller', 'L3 agent'),
]);

const LINKS: Array<[string, string | null]> = [
  ['eth0', '192.168.0.105/24'],
  ['eth1', null],
  ['tapaaaaaaaa-aa', null],
  ['tapbbbbbbbb-bb', null],
  ['brqcccccccc-cc', null],
];

/** neutrino's agent.ini (the linuxbridge_agent.ini layout plus [neutrino]). */
const NEUTRINO_INI = [
  '[DEFAULT]',
  'host = compute1',
  'state_path = /var/lib/neutrino/labs/x/compute1',
  '[neutrino]',
  'roles = l2',
  '[linux_bridge]',
  'physical_interface_mappings = provider:eth1',
  '[vxlan]',
  'local_ip = 192.168.0.105',
  '',
].join('\n');

test('from the configuration file: local_ip, mappings and state_path name their settings; the device and taps come from the kernel', () => {
  const r = nodeFactsFromDump('compute1', hostDump('compute1', NEUTRINO_INI, LINKS), API);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.facts, {
    host: 'compute1',
    roles: ['l2'],
    localIp: '192.168.0.105',
    localIpDevice: 'eth0',
    physicalInterfaceMappings: { provider: 'eth1' },
    arpResponder: false,
    vxlan: { dstport: 8472, ttl: null, tos: null, l2Population: true, group: '224.0.0.1' },
    statePath: '/var/lib/neutrino/labs/x/compute1',
    presentTaps: new Set(['tapaaaaaaaa-aa', 'tapbbbbbbbb-bb']),
  });
  assert.equal(r.sources.udp_dstport?.source, `[vxlan] udp_dstport not set in ${AGENT_INI}: the default`);
  assert.equal(r.sources.arp_responder?.value, 'false', '[vxlan] arp_responder (Neutron default off)');
  assert.deepEqual(r.sources.local_ip, {
    setting: '[vxlan] local_ip',
    value: '192.168.0.105',
    from: 'config',
    source: `[vxlan] local_ip in ${AGENT_INI}`,
  });
  assert.deepEqual(r.sources.physical_interface_mappings, {
    setting: '[linux_bridge] physical_interface_mappings',
    value: 'provider:eth1',
    from: 'config',
    source: `[linux_bridge] physical_interface_mappings in ${AGENT_INI}`,
  });
  assert.equal(r.sources.state_path?.from, 'config');
  assert.deepEqual(r.sources.local_ip_device, {
    setting: 'the device holding 192.168.0.105',
    value: 'eth0',
    from: 'observed',
    source: "192.168.0.105 is on eth0 in the node's own namespace",
  });
  assert.equal(r.sources.roles?.value, 'l2');
});

test("a real Neutron linuxbridge_agent.ini (no host, no [neutrino], no state_path): the host is Neutron's, roles come from the agents", () => {
  const ini = [
    '[linux_bridge]',
    'physical_interface_mappings = provider:eth2',
    '[vxlan]',
    'enable_vxlan = true',
    'local_ip = 192.168.0.104',
    'l2_population = true',
    '[securitygroup]',
    'firewall_driver = iptables',
    '',
  ].join('\n');
  const r = nodeFactsFromDump(
    'controller',
    hostDump('controller', ini, [
      ['eth1', '192.168.0.104/24'],
      ['eth2', null],
    ]),
    API,
  );
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.facts.roles, ['l2', 'dhcp', 'l3']);
  assert.equal(r.facts.host, 'controller');
  assert.equal(r.facts.localIpDevice, 'eth1');
  assert.deepEqual(r.facts.physicalInterfaceMappings, { provider: 'eth2' });
  assert.deepEqual(r.facts.presentTaps, new Set());
  // Not in the file: the agent's default, said as such.
  assert.equal(r.sources.state_path?.from, 'default');
  assert.equal(r.sources.state_path?.value, r.facts.statePath);
  assert.match(r.sources.state_path!.source, /\[DEFAULT\] state_path not set in .*linuxbridge_agent\.ini/);
});

test("without the configuration file the L2 agent's report stands in, and says so", () => {
  const r = nodeFactsFromDump('compute1', hostDump('compute1', null, LINKS), API);
  assert.equal(r.facts.localIp, '192.168.0.105');
  assert.equal(r.facts.localIpDevice, 'eth0');
  assert.deepEqual(r.facts.physicalInterfaceMappings, { provider: 'eth1' });
  assert.equal(r.sources.local_ip?.from, 'agent');
  assert.equal(r.sources.local_ip?.setting, '[vxlan] local_ip');
  assert.match(
    r.sources.local_ip!.source,
    /^tunneling_ip reported by the Linux bridge agent on compute1 \(the agent configuration .* could not be read\)$/,
  );
  assert.equal(r.sources.physical_interface_mappings?.from, 'agent');
  assert.equal(r.sources.physical_interface_mappings?.value, 'provider:eth1');
  assert.equal(r.sources.state_path?.from, 'default');
  assert.deepEqual(r.problems, [`the agent configuration ${AGENT_INI} could not be read`]);
});

test('an unusable configuration file falls back to the report too, and the parse error is kept', () => {
  const bad = NEUTRINO_INI.replace('provider:eth1', 'provider:eth1:extra');
  const r = nodeFactsFromDump('compute1', hostDump('compute1', bad, LINKS), API);
  assert.equal(r.sources.local_ip?.from, 'agent');
  assert.equal(r.sources.physical_interface_mappings?.from, 'agent');
  assert.deepEqual(r.facts.physicalInterfaceMappings, { provider: 'eth1' });
  assert.match(r.problems[0]!, /is not usable: invalid physical_interface_mappings entry 'provider:eth1:extra'/);
});

test('nothing to go on: no file, no L2 agent, no kernel state — the facts are empty and the problems say why', () => {
  const dump = hostDump('compute2', null, []);
  dump.namespaces = {};
  const r = nodeFactsFromDump('compute2', dump, API);
  assert.deepEqual(r.facts.roles, []);
  assert.equal(r.facts.localIp, null);
  assert.equal(r.facts.localIpDevice, null);
  assert.deepEqual(r.facts.physicalInterfaceMappings, {});
  assert.equal(r.sources.local_ip, undefined);
  assert.deepEqual(r.problems, [
    `the agent configuration ${AGENT_INI} could not be read`,
    '[vxlan] local_ip of compute2 is unknown: no Linux bridge agent is registered on compute2',
    '[linux_bridge] physical_interface_mappings of compute2 is unknown: no Linux bridge agent is registered on compute2',
    "the node's own namespace was not read on compute2",
  ]);
});

test('local_ip held by no device on the node is a problem, not a guess', () => {
  const r = nodeFactsFromDump('compute1', hostDump('compute1', NEUTRINO_INI, [['eth0', '10.0.0.5/24']]), API);
  assert.equal(r.facts.localIpDevice, null);
  assert.equal(r.sources.local_ip_device, undefined);
  assert.deepEqual(r.problems, ['no device holds local_ip 192.168.0.105 on compute1: the agent cannot place its VXLAN interfaces']);
});

test('the file wins over the report, but a running agent that disagrees with its file is pointed out', () => {
  const api = apiWith([
    agent('compute1', 'Linux bridge agent', { tunneling_ip: '192.168.0.99', interface_mappings: { provider: 'eth7' } }),
  ]);
  const r = nodeFactsFromDump('compute1', hostDump('compute1', NEUTRINO_INI, LINKS), api);
  assert.equal(r.facts.localIp, '192.168.0.105');
  assert.deepEqual(r.facts.physicalInterfaceMappings, { provider: 'eth1' });
  assert.deepEqual(r.problems, [
    `[vxlan] local_ip is 192.168.0.105 in ${AGENT_INI} but the Linux bridge agent on compute1 reports tunneling_ip 192.168.0.99: it runs with another configuration`,
    `[linux_bridge] physical_interface_mappings is 'provider:eth1' in ${AGENT_INI} but the Linux bridge agent on compute1 reports interface_mappings 'provider:eth7': it runs with another configuration`,
  ]);
});

test('[vxlan] udp_dstport, ttl, tos, l2_population and vxlan_group from the file shape the expected VXLAN devices', () => {
  const ini = NEUTRINO_INI + 'udp_dstport = 4789\nttl = 32\ntos = 16\nl2_population = false\nvxlan_group = 239.1.0.0/16\n';
  const r = nodeFactsFromDump('compute1', hostDump('compute1', ini, LINKS), API);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.facts.vxlan, { dstport: 4789, ttl: 32, tos: 16, l2Population: false, group: '239.1.0.0/16' });
  assert.deepEqual(r.sources.udp_dstport, {
    setting: '[vxlan] udp_dstport',
    value: '4789',
    from: 'config',
    source: `[vxlan] udp_dstport in ${AGENT_INI}`,
  });
  assert.equal(r.sources.vxlan_group?.value, '239.1.0.0/16');
});

test("without the file, the VXLAN devices' port, ttl, tos and group are read from a device, l2_population from the report", () => {
  const dump = hostDump('compute1', null, [...LINKS, ['vxlan-41', null]]);
  const ns = dump.namespaces['']!;
  const [links, ...rest] = ns.ip.split('\n');
  const parsed = JSON.parse(links) as Array<Record<string, unknown>>;
  parsed.find((l) => l['ifname'] === 'vxlan-41')!['linkinfo'] = {
    info_kind: 'vxlan',
    info_data: { id: 41, group: '239.1.0.41', link: 'eth0', port: 4789, learning: true, tos: '0x10', ttl: 32 },
  };
  ns.ip = [JSON.stringify(parsed), ...rest].join('\n');
  const api = apiWith([agent('compute1', 'Linux bridge agent', { tunneling_ip: '192.168.0.105', l2_population: false })]);
  const r = nodeFactsFromDump('compute1', dump, api);
  assert.deepEqual(r.facts.vxlan, { dstport: 4789, ttl: 32, tos: 16, l2Population: false, group: '239.1.0.41' });
  assert.equal(r.sources.udp_dstport?.from, 'observed');
  assert.match(r.sources.udp_dstport!.source, /^the UDP port of vxlan-41 on compute1 \(the agent configuration .* could not be read\)$/);
});
