// The tracer's API side against a real server: a clouds.yaml cloud (Keystone v3 password auth, the
// network endpoint from the token's catalog), every resource fetchApi reads, the router and DHCP
// hosts from the scheduler calls, and the fallback to bound ports when those calls are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '../../src/client/http.ts';
import { CredentialsError } from '../../src/client/reach.ts';
import { labPaths } from '../../src/lab/paths.ts';
import { newLabState, writeLabState } from '../../src/lab/state.ts';
import { cloudApiClient, fetchApi, resolveCloud, type ApiClient } from '../../src/trace/read/cloud.ts';
import { labApiClient } from '../../src/cli/trace-lab.ts';
import type { Api } from '../helpers/client.ts';
import { adminDemoOther, created, providerNetwork } from '../helpers/networking.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let dir = '';
let provider: any;
let selfservice: any;
let selfSubnet: any;
let router: any;
let group: any;
let fip: any;

const ok = async (p: Promise<{ status: number; body: unknown }>) => assert.equal((await p).status, 200, JSON.stringify((await p).body));

before(async () => {
  srv = await startTestServer();
  let demoProject: string;
  ({ admin, demo, demoProject } = await adminDemoOther(srv.url));
  const report = (agent_type: string, host: string, configurations: object = {}) =>
    admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } });
  await ok(report('Linux bridge agent', 'controller', { tunneling_ip: '192.168.0.104', interface_mappings: { provider: 'eth2' } }));
  await ok(report('Linux bridge agent', 'compute1', { tunneling_ip: '192.168.0.105' }));
  await ok(report('L3 agent', 'controller'));
  await ok(report('DHCP agent', 'controller'));

  provider = await providerNetwork(admin, { gateway_ip: '10.123.123.1', enable_dhcp: false });
  selfservice = await created(demo.post('/networks', { network: { name: 'selfservice' } }), 'network');
  selfSubnet = await created(
    demo.post('/subnets', { subnet: { network_id: selfservice.id, ip_version: 4, cidr: '172.16.1.0/24' } }),
    'subnet',
  );
  router = await created(demo.post('/routers', { router: { name: 'router' } }), 'router');
  await ok(
    admin.put(`/routers/${router.id}`, {
      router: { external_gateway_info: { network_id: provider.id, external_fixed_ips: [{ ip_address: '10.123.123.102' }] } },
    }),
  );
  await ok(demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: selfSubnet.id }));
  group = await created(demo.post('/security-groups', { security_group: { name: 'web' } }), 'security_group');
  await created(
    demo.post('/security-group-rules', {
      security_group_rule: { security_group_id: group.id, direction: 'ingress', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' },
    }),
    'security_group_rule',
  );
  const port = await created(
    demo.post('/ports', {
      port: {
        network_id: selfservice.id,
        device_owner: 'compute:nova',
        security_groups: [group.id],
        fixed_ips: [{ subnet_id: selfSubnet.id, ip_address: '172.16.1.3' }],
      },
    }),
    'port',
  );
  fip = await created(
    admin.post('/floatingips', {
      floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.104', port_id: port.id, project_id: demoProject },
    }),
    'floatingip',
  );

  dir = mkdtempSync(join(tmpdir(), 'neutrino-trace-fetch-'));
  writeFileSync(
    join(dir, 'clouds.yaml'),
    `clouds:
  tracer:
    auth:
      auth_url: ${srv.url}/identity/v3
      username: admin
      password: ${ADMIN_PASSWORD}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
  member:
    auth:
      auth_url: ${srv.url}/identity/v3
      username: demo
      password: demo-pw
      project_name: demo
`,
  );
});
after(async () => {
  await srv.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cloud = (name: string) =>
  cloudApiClient(
    resolveCloud({ cloud: name, env: { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') }, cwd: dir, home: dir, siteDir: dir }),
  );
const ids = (items: Array<{ id: string }>) => items.map((x) => x.id).sort();

test('clouds.yaml → Keystone v3 → the catalog network endpoint → every resource the tracer needs, with router and DHCP hosts', async () => {
  const { client, source } = await cloud('tracer');
  assert.equal(client.endpoint, srv.url);
  assert.deepEqual(source, { endpoint: srv.url });
  const api = await fetchApi(client);

  assert.deepEqual(ids(api.networks), [provider.id, selfservice.id].sort());
  assert.equal(api.subnets.length, 2);
  assert.deepEqual(ids(api.routers), [router.id]);
  assert.deepEqual(
    api.floatingips.map((f) => [f.id, f['floating_ip_address'], f['fixed_ip_address']]),
    [[fip.id, '10.123.123.104', '172.16.1.3']],
  );
  const owners = api.ports.map((p) => `${p['device_owner']}@${p['binding:host_id']}`).sort();
  assert.deepEqual(owners, [
    'compute:nova@',
    'network:dhcp@controller',
    'network:floatingip@',
    'network:router_gateway@controller',
    'network:router_interface@controller',
  ]);
  // Standard Neutron attributes, as returned.
  const gw = api.ports.find((p) => p['device_owner'] === 'network:router_gateway')!;
  assert.equal(gw['device_id'], router.id);
  assert.equal(gw['binding:vif_type'], 'bridge');
  const web = api.security_groups.find((g) => g.id === group.id)!;
  const rules = web['security_group_rules'] as Array<Record<string, unknown>>;
  assert.ok(
    rules.some((r) => r['direction'] === 'ingress' && r['protocol'] === 'icmp' && r['remote_ip_prefix'] === '0.0.0.0/0'),
    JSON.stringify(rules),
  );
  assert.ok(api.security_groups.some((g) => g['name'] === 'default'));
  assert.deepEqual(api.agents.map((a) => `${a['host']}/${a['agent_type']}/${a['alive']}`).sort(), [
    'compute1/Linux bridge agent/true',
    'controller/DHCP agent/true',
    'controller/L3 agent/true',
    'controller/Linux bridge agent/true',
  ]);
  assert.deepEqual(api.router_hosts, { [router.id]: ['controller'] });
  // The provider subnet has no DHCP: only selfservice is asked for.
  assert.deepEqual(api.dhcp_hosts, { [selfservice.id]: ['controller'] });
  assert.equal(api.errors, undefined);
});

test('a cloud without the scheduler calls (404): router and DHCP hosts come from the bound ports, and the snapshot says so', async () => {
  const { client } = await cloud('tracer');
  // As Neutron answers when the l3_agent_scheduler / dhcp_agent_scheduler extensions are not loaded.
  const noScheduler: ApiClient = {
    endpoint: client.endpoint,
    get: (path) =>
      /\/(l3|dhcp)-agents$/.test(path)
        ? Promise.reject(new HttpError(404, { NeutronError: { type: 'HTTPNotFound', message: 'not found' } }, 'GET', path))
        : client.get(path),
  };
  const api = await fetchApi(noScheduler);
  assert.deepEqual(api.router_hosts, { [router.id]: ['controller'] });
  assert.deepEqual(api.dhcp_hosts, { [selfservice.id]: ['controller'] });
  assert.deepEqual(api.errors, [
    `GET /v2.0/routers/${router.id}/l3-agents answered 404: hosts taken from the ports' binding:host_id instead`,
    `GET /v2.0/networks/${selfservice.id}/dhcp-agents answered 404: hosts taken from the ports' binding:host_id instead`,
  ]);
});

test('paginated lists (limit/marker, `<collection>_links` next) are followed to the end, on the same endpoint', async () => {
  const { client } = await cloud('tracer');
  const whole = await fetchApi(client);
  const asked: string[] = [];
  // The real server pages when asked to: one item per page, as a cloud with a small pagination_max_limit would.
  const paged: ApiClient = {
    endpoint: client.endpoint,
    get: (path) => {
      const p = /^\/v2\.0\/[a-z-]+$/.test(path) ? `${path}?limit=1` : path;
      asked.push(p);
      return client.get(p);
    },
  };
  const api = await fetchApi(paged);
  assert.deepEqual(api, whole);
  assert.ok(
    asked.some((p) => /^\/v2\.0\/ports\?limit=1&marker=/.test(p)),
    asked.join(' '),
  );
});

test("a member's cloud: the scheduler calls are refused (403) and host bindings hidden, so the hosts are unknown, in words", async () => {
  const { client } = await cloud('member');
  const api = await fetchApi(client);
  assert.deepEqual(ids(api.routers), [router.id]);
  assert.deepEqual(api.agents, []);
  assert.deepEqual(api.router_hosts, { [router.id]: [] });
  assert.deepEqual(api.dhcp_hosts, { [selfservice.id]: [] });
  assert.deepEqual(api.errors, [
    `GET /v2.0/routers/${router.id}/l3-agents answered 403: hosts taken from the ports' binding:host_id instead`,
    `GET /v2.0/networks/${selfservice.id}/dhcp-agents answered 403: hosts taken from the ports' binding:host_id instead`,
  ]);
});

test('a wrong password fails at once, with Keystone’s answer', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    `clouds:\n  bad:\n    auth:\n      auth_url: ${srv.url}/identity/v3\n      username: admin\n      password: wrong\n      project_name: admin\n`,
  );
  await assert.rejects(
    cloudApiClient(resolveCloud({ cloud: 'bad', env: { OS_CLIENT_CONFIG_FILE: file }, cwd: dir, home: dir, siteDir: dir })),
    (e: Error) =>
      e instanceof CredentialsError &&
      e.message ===
        `the Identity API at ${srv.url}/identity/v3 refused the credentials (The request you have made requires authentication.): check username, password, project_name, user_domain_name of cloud 'bad' in ${file} (--cloud / OS_CLOUD)`,
  );
});

test("in a lab: the lab's admin client (lab.json's server and admin password) reads the same resources", async () => {
  // Only lab.json is needed to find the API: a lab state pointing at this test's server.
  const root = join(dir, 'labs-root');
  const paths = labPaths(root, 'tf1');
  mkdirSync(paths.dir, { recursive: true });
  const state = newLabState({
    lab: 'tf1',
    stateDir: paths.dir,
    nodes: ['controller', 'compute1'],
    socket: join(paths.dir, 's'),
    agents: false,
    adminPassword: ADMIN_PASSWORD,
    demoPassword: 'x',
    now: new Date(),
  });
  state.server.url = srv.url;
  writeLabState(paths, state);
  const { client, source } = labApiClient({ lab: 'tf1', stateRoot: root });
  assert.deepEqual(source, { endpoint: srv.url, lab: 'tf1' });
  const api = await fetchApi(client);
  assert.deepEqual(ids(api.networks), [provider.id, selfservice.id].sort());
  assert.deepEqual(api.router_hosts, { [router.id]: ['controller'] });
  assert.deepEqual(api.dhcp_hosts, { [selfservice.id]: ['controller'] });
  assert.equal(api.agents.length, 4);
  assert.throws(() => labApiClient({ lab: 'tf2', stateRoot: root }), /lab 'tf2' is not up/);
});

test("a floating IP forwarding a port range: its forwardings read from the sub-resource (the floating IP's list shows no ports for a range)", async () => {
  const fip2 = await created(
    admin.post('/floatingips', { floatingip: { floating_network_id: provider.id, floating_ip_address: '10.123.123.105' } }),
    'floatingip',
  );
  const port = await created(admin.post('/ports', { port: { network_id: selfservice.id, device_owner: 'compute:nova' } }), 'port');
  const address = (port.fixed_ips as Array<{ ip_address: string }>)[0]!.ip_address;
  const pf = await created(
    admin.post(`/floatingips/${fip2.id}/port_forwardings`, {
      port_forwarding: {
        internal_port_id: port.id,
        internal_ip_address: address,
        protocol: 'tcp',
        external_port_range: '4021:4023',
        internal_port_range: '21:23',
      },
    }),
    'port_forwarding',
  );
  const { client } = await cloud('tracer');
  const api = await fetchApi(client);
  const listed = api.floatingips.find((f) => f.id === fip2.id)!['port_forwardings'] as Array<Record<string, unknown>>;
  assert.equal(listed[0]!['external_port'], undefined, JSON.stringify(listed));
  assert.deepEqual(Object.keys(api.port_forwardings ?? {}), [fip2.id]);
  const read = api.port_forwardings![fip2.id]!;
  assert.deepEqual(
    read.map((f) => [f.id, f['external_port_range'], f['internal_port_range']]),
    [[pf.id, '4021:4023', '21:23']],
  );
  // Refused, the ranges are not walked, and the snapshot says so.
  const refusing: ApiClient = {
    endpoint: client.endpoint,
    get: (path) =>
      /\/port_forwardings$/.test(path)
        ? Promise.reject(new HttpError(403, { NeutronError: { type: 'HTTPForbidden', message: 'no' } }, 'GET', path))
        : client.get(path),
  };
  const partial = await fetchApi(refusing);
  assert.deepEqual(partial.port_forwardings, { [fip2.id]: [] });
  assert.deepEqual(partial.errors, [`GET /v2.0/floatingips/${fip2.id}/port_forwardings answered 403: its port ranges are not walked`]);
});
