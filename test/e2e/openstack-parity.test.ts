// Neutron parity through Debian's real `openstack` CLI: availability zones, manual DHCP and L3 agent
// scheduling, unbinding and profile/NUMA changes of ports, and deleting an external network that
// still has floating IPs. The agents are registered over the agent API (no kernel work here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite } from '../helpers/cli-suite.ts';
import { adminToken, api, type Api, type Wire } from '../helpers/client.ts';

const suite = cliSuite();
const skip = suite.skip;
let adminHttp: Api | undefined;
/** The admin over HTTP, for what the CLI has no command for (agents' state reports). */
const http = async (): Promise<Api> => (adminHttp ??= api(suite.srv.url, await adminToken(suite.srv.url)));

const admin = (...a: string[]): Promise<Wire> => suite.cli.json('admin', a);
const run = (...a: string[]) => suite.cli.run('admin', a);

/** Registers an agent as its first state report would; returns its id. */
async function agent(agent_type: string, host: string, availability_zone?: string): Promise<string> {
  const r = await (
    await http()
  ).post('/neutrino/agents/report', {
    agent: { agent_type, host, configurations: {}, start_flag: true, availability_zone },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.agent.id;
}

test('availability zone list --network, and hints on network and router create', { skip, timeout: 300_000 }, async () => {
  await agent('DHCP agent', 'az-net1', 'az1');
  await agent('L3 agent', 'az-net1', 'az1');
  await agent('DHCP agent', 'az-net2', 'az2');
  const zones = (await admin('availability', 'zone', 'list', '--network', '--long')) as Array<Record<string, string>>;
  const rows = zones.map((z) => `${z['Zone Name']}/${z['Zone Resource']}/${z['Zone Status']}`).sort();
  assert.deepEqual(rows, ['az1/network/available', 'az1/router/available', 'az2/network/available']);
  const net = await admin('network', 'create', '--availability-zone-hint', 'az2', 'az-hinted');
  assert.deepEqual(net.availability_zone_hints, ['az2']);
  await assert.rejects(
    run('network', 'create', '--availability-zone-hint', 'nowhere', 'az-bad'),
    /AvailabilityZone nowhere could not be found/,
  );
  const router = await admin('router', 'create', '--availability-zone-hint', 'az1', 'az-router');
  assert.deepEqual(router.availability_zone_hints, ['az1']);
  await run('subnet', 'create', '--network', 'az-hinted', '--subnet-range', '10.61.0.0/24', 'az-hinted-sub');
  assert.deepEqual((await admin('network', 'show', 'az-hinted')).availability_zones, ['az2']);
});

test('network agent add/remove network --dhcp and router --l3', { skip, timeout: 300_000 }, async () => {
  const d1 = await agent('DHCP agent', 'sched1');
  const d2 = await agent('DHCP agent', 'sched2');
  const l1 = await agent('L3 agent', 'sched1');
  const l2 = await agent('L3 agent', 'sched2');
  await run('network', 'create', 'sched-net');
  await run('subnet', 'create', '--network', 'sched-net', '--subnet-range', '10.62.0.0/24', 'sched-sub');
  const hosting = async () =>
    ((await admin('network', 'agent', 'list', '--network', 'sched-net')) as Array<{ ID: string }>).map((a) => a.ID);
  const [first] = await hosting();
  const other = first === d1 ? d2 : d1;
  await run('network', 'agent', 'remove', 'network', '--dhcp', first, 'sched-net');
  assert.deepEqual(await hosting(), []);
  await run('network', 'agent', 'add', 'network', '--dhcp', other, 'sched-net');
  assert.deepEqual(await hosting(), [other]);
  // The client swallows a refused `add network --dhcp` (it builds its CommandError without raising
  // it); the server's answer is Neutron's, and nothing changes.
  await run('network', 'agent', 'add', 'network', '--dhcp', l1, 'sched-net');
  assert.deepEqual(await hosting(), [other]);
  const netId = (await admin('network', 'show', 'sched-net')).id;
  const again = await (await http()).post(`/agents/${other}/dhcp-networks`, { network_id: netId });
  assert.equal(again.status, 409);
  assert.equal(again.body.NeutronError.type, 'NetworkHostedByDHCPAgent');

  await run('router', 'create', 'sched-router');
  // Heartbeats: the CLI is slow enough that agents registered above may have gone quiet for agent_down_time.
  for (const host of ['sched1', 'sched2']) await agent('L3 agent', host);
  await run('router', 'add', 'subnet', 'sched-router', 'sched-sub');
  const routerHosts = async () =>
    ((await admin('network', 'agent', 'list', '--router', 'sched-router')) as Array<{ ID: string }>).map((a) => a.ID);
  const [l3First] = await routerHosts();
  const l3Other = l3First === l1 ? l2 : l1;
  await run('network', 'agent', 'remove', 'router', '--l3', l3First, 'sched-router');
  assert.deepEqual(await routerHosts(), []);
  await run('network', 'agent', 'add', 'router', '--l3', l3Other, 'sched-router');
  assert.deepEqual(await routerHosts(), [l3Other]);
  // The SDK does not check the answer to an add (openstacksdk's Agent.add_router_to_agent): the server
  // refuses with Neutron's error, and the router stays where it is.
  await run('network', 'agent', 'add', 'router', '--l3', l3First, 'sched-router');
  assert.deepEqual(await routerHosts(), [l3Other]);
  const routerId = (await admin('router', 'show', 'sched-router')).id;
  const hosted = await (await http()).post(`/agents/${l3First}/l3-routers`, { router_id: routerId });
  assert.equal(hosted.status, 409);
  assert.equal(hosted.body.NeutronError.type, 'RouterHostedByL3Agent');
  const listed = (await admin('router', 'list', '--agent', l3Other)) as Array<{ Name: string }>;
  assert.deepEqual(
    listed.map((r) => r.Name),
    ['sched-router'],
  );
});

test('port unset --host / --binding-profile / --numa-policy, and set --numa-policy-*', { skip, timeout: 300_000 }, async () => {
  await run('network', 'create', 'bind-net');
  const port = await admin(
    'port',
    'create',
    '--network',
    'bind-net',
    '--host',
    'compute9',
    '--binding-profile',
    'k=v',
    '--binding-profile',
    'j=w',
    'bind-port',
  );
  assert.equal(port.binding_host_id, 'compute9');
  await run('port', 'unset', '--binding-profile', 'k', 'bind-port');
  assert.deepEqual((await admin('port', 'show', 'bind-port')).binding_profile, { j: 'w' });
  await run('port', 'unset', '--host', 'bind-port');
  const unbound = await admin('port', 'show', 'bind-port');
  assert.equal(unbound.binding_host_id, '');
  assert.equal(unbound.binding_vif_type, 'unbound');
  await run('port', 'set', '--numa-policy-preferred', 'bind-port');
  assert.equal((await admin('port', 'show', 'bind-port')).numa_affinity_policy, 'preferred');
  await run('port', 'unset', '--numa-policy', 'bind-port');
  assert.equal((await admin('port', 'show', 'bind-port')).numa_affinity_policy, null);
});

test('network delete of an external network with floating IPs deletes them', { skip, timeout: 300_000 }, async () => {
  await run('network', 'create', '--external', '--provider-network-type', 'vxlan', 'ext-del');
  await run('subnet', 'create', '--network', 'ext-del', '--subnet-range', '10.63.0.0/24', 'ext-del-sub');
  const fip1 = await admin('floating', 'ip', 'create', 'ext-del');
  const fip2 = await admin('floating', 'ip', 'create', 'ext-del');
  await run('network', 'delete', 'ext-del');
  const left = (await admin('floating', 'ip', 'list')) as Array<{ ID: string }>;
  assert.ok(!left.some((f) => f.ID === fip1.id || f.ID === fip2.id));
  await assert.rejects(run('network', 'show', 'ext-del'), /No Network found for ext-del/);
});
