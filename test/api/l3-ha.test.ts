// HA routers over HTTP (l3-ha): `ha` is admin-only, l3_ha gives the default; an HA router gets its
// project's HA network ("HA network tenant <project>", 169.254.192.0/18, no DHCP or gateway), a VRRP
// id, and is scheduled on up to max_l3_agents_per_router L3 agents with an `ha-` port on each; the
// agents' state reports show in GET /routers/{id}/l3-agents and move the router's ports to the
// active host; `ha` changes only on a router that is down; the HA network goes with the last HA router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentServer } from '../helpers/agent-server.ts';
import { created, expectError } from '../helpers/networking.ts';
import type { Wire as Resource } from '../helpers/client.ts';
import { defaultServerConfig } from '../../src/server-config.ts';
import { parseL3HaOptions } from '../../src/server-config-l3ha.ts';

type Agent = { id: string; host: string; ha_state?: string };

test('an HA router: HA network, VRRP id, two agents with ha- ports, states, failover of its ports, deletion', async (t) => {
  const { admin, demo, report, view } = await agentServer(t);
  for (const host of ['net1', 'net2', 'net3']) await report('L3 agent', host);
  const demoProject = (await created<Resource>(demo.post('/networks', { network: { name: 'n' } }), 'network')).project_id;

  // A member may not ask for it, nor see it.
  expectError(await demo.post('/routers', { router: { name: 'r', ha: true } }), 403, 'PolicyNotAuthorized', /create_router:ha/);
  const router = await created<Resource>(admin.post('/routers', { router: { name: 'r', ha: true, project_id: demoProject } }), 'router');
  assert.equal(router.ha, true);
  assert.equal((await demo.get(`/routers/${router.id}`)).body.router.ha, undefined);

  const nets = (await admin.get(`/networks?name=${encodeURIComponent(`HA network tenant ${demoProject}`)}`)).body.networks as Resource[];
  assert.equal(nets.length, 1);
  assert.equal(nets[0].project_id, '');
  assert.deepEqual((await demo.get(`/networks/${nets[0].id}`)).status, 404, 'the HA network is not the project’s');
  const [subnet] = (await admin.get(`/subnets?network_id=${nets[0].id}`)).body.subnets as Resource[];
  assert.equal(subnet.name, `HA subnet tenant ${demoProject}`);
  assert.equal(subnet.cidr, '169.254.192.0/18');
  assert.equal(subnet.enable_dhcp, false);
  assert.equal(subnet.gateway_ip, null);

  // Scheduled on three agents (max_l3_agents_per_router 3) from its creation, each with its ha- port.
  const agents = async () => (await admin.get(`/routers/${router.id}/l3-agents`)).body.agents as Agent[];
  assert.deepEqual((await agents()).map((a) => [a.host, a.ha_state]).sort(), [
    ['net1', 'standby'],
    ['net2', 'standby'],
    ['net3', 'standby'],
  ]);
  const haPorts = (await admin.get(`/ports?device_id=${router.id}&device_owner=network:router_ha_interface`)).body.ports as Resource[];
  assert.deepEqual(haPorts.map((p) => p['binding:host_id']).sort(), ['net1', 'net2', 'net3']);
  for (const p of haPorts) {
    assert.equal(p.name, `HA port tenant ${demoProject}`);
    assert.equal(p.project_id, '');
    assert.equal(p.network_id, nets[0].id);
  }
  const v1 = (await view('net1')).routers.find((r: Resource) => r.id === router.id);
  assert.ok(v1.ha.vr_id >= 1 && v1.ha.vr_id <= 254);
  assert.equal(v1.ha.cidr, '169.254.192.0/18');
  assert.equal(v1.ha.port.binding_host_id, 'net1');
  assert.equal((await view('net2')).routers[0].ha.vr_id, v1.ha.vr_id, 'one VRRP id on every node');

  // An interface: bound to the first host until one reports active; every host wires its network.
  const net = await created<Resource>(demo.post('/networks', { network: { name: 'in' } }), 'network');
  const sub = await created<Resource>(
    demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.9.0.0/24' } }),
    'subnet',
  );
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: sub.id })).status, 200);
  // An HA router's interfaces are replicated ones (_get_device_owner), and router interfaces all the same.
  const intf = async () =>
    ((await admin.get(`/ports?device_id=${router.id}&device_owner=network:ha_router_replicated_interface`)).body.ports as Resource[])[0];
  assert.equal((await intf())['binding:host_id'], 'net1');
  assert.deepEqual((await admin.get(`/ports?device_id=${router.id}&device_owner=network:router_interface`)).body.ports, []);
  expectError(await admin.del(`/routers/${router.id}`), 409, 'RouterInUse', new RegExp(`has ports still attached: ${(await intf()).id}`));
  const v3 = (await view('net3')).routers.find((r: Resource) => r.id === router.id);
  assert.deepEqual(
    v3.interfaces.map((i: Resource) => i.port.device_owner),
    ['network:ha_router_replicated_interface'],
    'the host view has it as an interface',
  );
  assert.ok(
    (await view('net3')).networks.some((n: Resource) => n.id === net.id),
    'a standby host wires the interface network',
  );

  // States: net2 active → the interface moves there; bad bodies are refused.
  const states = (host: string, body: unknown) => admin.post(`/neutrino/hosts/${host}/ha-router-states`, body);
  expectError(await states('net2', { states: { [router.id]: 'primary' } }), 400, 'HTTPBadRequest');
  expectError(await states('net2', {}), 400, 'HTTPBadRequest');
  assert.deepEqual((await states('net2', { states: { [router.id]: 'active' } })).body, { updated: [router.id] });
  assert.deepEqual((await states('net2', { states: { [router.id]: 'active' } })).body, { updated: [] });
  const shown = await agents();
  assert.equal(shown.find((a) => a.host === 'net2')!.ha_state, 'active');
  assert.equal((await intf())['binding:host_id'], 'net2');

  // Changing ha needs the router down.
  expectError(
    await admin.put(`/routers/${router.id}`, { router: { ha: false } }),
    400,
    'BadRequest',
    'Bad router request: Cannot change HA attribute of active routers. Please set router admin_state_up to False prior to upgrade.',
  );

  // Deleting it (after its interface) takes its ha- ports and the project's HA network.
  assert.equal((await demo.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: sub.id })).status, 200);
  assert.equal((await admin.del(`/routers/${router.id}`)).status, 204);
  assert.deepEqual((await admin.get(`/ports?device_owner=network:router_ha_interface`)).body.ports, []);
  assert.equal((await admin.get(`/networks/${nets[0].id}`)).status, 404);
  assert.deepEqual((await view('net1')).routers, []);
});

test('max_l3_agents_per_router, l3_ha default, migration to and from HA while down', async (t) => {
  const { admin, report } = await agentServer(t);
  await report('L3 agent', 'a1');
  await report('L3 agent', 'a2');
  await report('L3 agent', 'a3');
  t.diagnostic('l3_ha = true and max 2 from the config file options');
  const cfg = { ...defaultServerConfig.l3ha, ...parseL3HaOptions({ l3_ha: 'true', max_l3_agents_per_router: '2' }) };
  assert.deepEqual(cfg, { l3Ha: true, maxL3AgentsPerRouter: 2, l3HaNetCidr: '169.254.192.0/18' });
  assert.throws(() => parseL3HaOptions({ l3_ha_net_cidr: '169.254.192.1/18' }), /HA Network CIDR .* isn't valid/);
  assert.throws(() => parseL3HaOptions({ l3_ha: 'maybe' }), /l3_ha must be true or false/);

  const legacy = await created<Resource>(admin.post('/routers', { router: { name: 'l' } }), 'router');
  assert.equal(legacy.ha, false);
  const owners = async () =>
    ((await admin.get(`/ports?device_id=${legacy.id}`)).body.ports as Resource[])
      .map((p) => p.device_owner)
      .filter((o) => o !== 'network:router_ha_interface');
  const net = await created<Resource>(admin.post('/networks', { network: { name: 'in' } }), 'network');
  const sub = await created<Resource>(
    admin.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.8.0.0/24' } }),
    'subnet',
  );
  assert.equal((await admin.put(`/routers/${legacy.id}/add_router_interface`, { subnet_id: sub.id })).status, 200);
  assert.deepEqual(await owners(), ['network:router_interface']);
  const up = await admin.put(`/routers/${legacy.id}`, { router: { ha: true, admin_state_up: false } });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.router.ha, true);
  assert.equal(((await admin.get(`/routers/${legacy.id}/l3-agents`)).body.agents as Agent[]).length, 3);
  // _migrate_router_ports: the interfaces change owner with the router.
  assert.deepEqual(await owners(), ['network:ha_router_replicated_interface']);
  const down = await admin.put(`/routers/${legacy.id}`, { router: { ha: false } });
  assert.equal(down.status, 200, JSON.stringify(down.body));
  assert.deepEqual(await owners(), ['network:router_interface']);
  assert.equal((await admin.put(`/routers/${legacy.id}/remove_router_interface`, { subnet_id: sub.id })).status, 200);
  assert.deepEqual((await admin.get(`/networks?name=HA%20network%20tenant%20${legacy.project_id}`)).body.networks, []);
});

test('with l3_ha = true and max_l3_agents_per_router = 2, a plain router is HA on two agents', async () => {
  const { startTestServer } = await import('../helpers/server.ts');
  const { adminToken, api } = await import('../helpers/client.ts');
  const srv = await startTestServer({ l3ha: { l3Ha: true, maxL3AgentsPerRouter: 2, l3HaNetCidr: '169.254.192.0/18' } });
  try {
    const admin = api(srv.url, await adminToken(srv.url));
    for (const host of ['a1', 'a2', 'a3'])
      await admin.post('/neutrino/agents/report', { agent: { agent_type: 'L3 agent', host, configurations: {}, start_flag: true } });
    const r = await created<Resource>(admin.post('/routers', { router: { name: 'r' } }), 'router');
    assert.equal(r.ha, true);
    const agents = (await admin.get(`/routers/${r.id}/l3-agents`)).body.agents as Agent[];
    assert.equal(agents.length, 2);
    assert.ok(agents.every((a) => a.ha_state === 'standby'));
  } finally {
    await srv.close();
  }
});
