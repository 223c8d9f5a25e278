// Which host views a change wakes, over HTTP: six hosts' watches (the agent's HostWatch) long-poll
// their views while one change of each kind is made — ports created, bound, updated, moved, unbound,
// deleted and reporting status; network and subnet updates; routers (gateway, interfaces, routes, HA
// state), floating IPs and port forwardings; security groups with a remote group and an address
// group; RBAC; an agent's VXLAN endpoint. Every host whose whole view the change altered must be
// woken and then hold exactly that view; hosts the change cannot concern must still be waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startTestServer, ADMIN_PASSWORD } from '../helpers/server.ts';
import { adminDemoOther, created, providerNetwork, selfserviceNetwork } from '../helpers/networking.ts';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { HostWatch } from '../../src/agent/host-watch.ts';

const HOSTS = ['c1', 'c2', 'c3', 'net', 'net2', 'idle'] as const;
type Host = (typeof HOSTS)[number];
/** Long enough that a watch still waiting after a step was not woken by it. */
const WAIT_S = 30;

test('a change wakes every host whose view it alters, and leaves the others waiting', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, demoProject, otherProject } = await adminDemoOther(srv.url);
  const ok = async (p: Promise<{ status: number; body: unknown }>, status = 200) => {
    const r = await p;
    assert.equal(r.status, status, JSON.stringify(r.body));
    return r.body as Record<string, { id: string } & Record<string, unknown>>;
  };
  const report = (agent_type: string, host: string, configurations: object = {}) =>
    ok(admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } }));
  for (const [i, host] of HOSTS.entries()) await report('Linux bridge agent', host, { tunneling_ip: `192.168.0.${10 + i}` });
  await report('DHCP agent', 'net');
  await report('L3 agent', 'net');
  await report('L3 agent', 'net2');

  const provider = await providerNetwork(admin);
  const { net, subnet } = await selfserviceNetwork(demo);

  const watches = new Map(
    HOSTS.map((host) => [
      host,
      new HostWatch(
        new NeutrinoClient({ url: srv.url }, { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' }),
        host,
        pino({ level: 'silent' }),
      ),
    ]),
  );
  // The views' content, without the revision (which moves with every change). The server keeps two
  // views per host as bases for deltas: each step reads each whole view once, so the watch's stays held.
  const content = (view: unknown) => JSON.stringify(view).replace(/"revision":\d+,/, '');
  const whole = async (host: Host) => content((await admin.get(`/neutrino/hosts/${host}/view`)).body.view);
  const held = (host: Host) => content(watches.get(host)!.view);
  const last = new Map<Host, string>();
  for (const [host, w] of watches) {
    await w.follow(0);
    last.set(host, await whole(host));
    assert.equal(held(host), last.get(host));
  }

  /**
   * Every watch long-polls; `change` is made; each host whose whole view differs afterwards must
   * have been woken (and then hold that view); each of `asleep` must still be waiting.
   */
  const step = async (what: string, change: () => Promise<unknown>, asleep: Host[]) => {
    for (const [host, w] of watches) {
      await w.follow(0);
      assert.equal(held(host), last.get(host), `${host}'s view before the step`);
    }
    const stop = new AbortController();
    const answered = new Set<Host>();
    const polls = new Map(
      HOSTS.map((host) => [
        host,
        watches
          .get(host)!
          .follow(WAIT_S, stop.signal)
          .then(() => answered.add(host)),
      ]),
    );
    // Most long-polls reach the server before the change (the others catch up: the same rules apply).
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await change();
    const altered: Host[] = [];
    for (const host of HOSTS) {
      const now = await whole(host);
      if (now !== last.get(host)) altered.push(host);
      last.set(host, now);
    }
    for (const host of altered) {
      await polls.get(host);
      assert.ok(Date.now() - t0 < (WAIT_S - 5) * 1000, `${what}: ${host}'s view changed, but its long-poll ran to its end`);
      await watches.get(host)!.follow(0);
      assert.equal(held(host), last.get(host), `${what}: ${host}'s view`);
    }
    await new Promise((r) => setTimeout(r, 100));
    for (const host of asleep) {
      assert.ok(!altered.includes(host), `${what}: ${host} is listed asleep, but its view changed`);
      assert.ok(!answered.has(host), `${what}: ${host} was woken, but the change cannot concern its view`);
    }
    stop.abort();
    await Promise.all(polls.values());
    return altered;
  };

  const bind = (id: string, host: string) => ok(admin.put(`/ports/${id}`, { port: { 'binding:host_id': host } }));
  const port = async (name: string, host: string, extra: object = {}) => {
    const p = await created(
      demo.post('/ports', { port: { network_id: net.id, name, device_owner: 'compute:nova', device_id: name, ...extra } }),
      'port',
    );
    return (await bind(p.id, host)).port;
  };

  let a!: { id: string };
  assert.deepEqual(await step('a port bound to c1', async () => (a = await port('a', 'c1')), ['c2', 'c3', 'net2', 'idle']), ['c1', 'net']);
  let b!: { id: string };
  await step('a port bound to c2 (a remote port of c1 and net)', async () => (b = await port('b', 'c2')), ['c3', 'net2', 'idle']);
  await step('c1 port set down', () => ok(demo.put(`/ports/${a.id}`, { port: { admin_state_up: false } })), ['c2', 'c3', 'net2', 'idle']);
  await step('c1 port renamed (in no view)', () => ok(demo.put(`/ports/${a.id}`, { port: { name: 'a2' } })), ['c2', 'c3', 'net2', 'idle']);
  // Views show no status: a report wakes nobody, not even the host that made it or the DHCP host.
  assert.deepEqual(
    await step('c1 port reported ACTIVE', () => ok(admin.post('/neutrino/hosts/c1/port-status', { ports: { [a.id]: 'ACTIVE' } })), [
      ...HOSTS,
    ]),
    [],
  );
  await step(
    'c2 port readdressed',
    () => ok(demo.put(`/ports/${b.id}`, { port: { fixed_ips: [{ subnet_id: subnet.id, ip_address: '172.16.1.50' }] } })),
    ['c3', 'net2', 'idle'],
  );
  assert.deepEqual(await step('c2 port moved to c3', () => bind(b.id, 'c3'), ['net2', 'idle']), ['c1', 'c2', 'c3', 'net']);
  await step('c3 port unbound', () => bind(b.id, ''), ['c2', 'net2', 'idle']);
  await step('c3 port bound again', () => bind(b.id, 'c3'), ['c2', 'net2', 'idle']);
  await step(
    'a port in no group bound to a host without a VXLAN endpoint (in no remote entry)',
    () => port('d', 'novtep', { security_groups: [] }),
    ['c1', 'c2', 'c3', 'net2', 'idle'],
  );
  assert.ok(
    (
      await step(
        "that host's agent registered with an endpoint",
        () => report('Linux bridge agent', 'novtep', { tunneling_ip: '192.168.0.50' }),
        ['c2', 'net2', 'idle'],
      )
    ).includes('c1'),
  );

  await step('the network MTU lowered', () => ok(admin.put(`/networks/${net.id}`, { network: { mtu: 1400 } })), ['c2', 'net2', 'idle']);
  await step('the subnet gateway moved', () => ok(demo.put(`/subnets/${subnet.id}`, { subnet: { gateway_ip: '172.16.1.254' } })), [
    'c2',
    'net2',
    'idle',
  ]);
  await step('the subnet DNS servers set', () => ok(demo.put(`/subnets/${subnet.id}`, { subnet: { dns_nameservers: ['192.0.2.53'] } })), [
    'c2',
    'net2',
    'idle',
  ]);
  await step(
    'the network shared with another project',
    () =>
      ok(
        demo.post('/rbac-policies', {
          rbac_policy: { object_type: 'network', object_id: net.id, target_tenant: otherProject, action: 'access_as_shared' },
        }),
        201,
      ),
    ['c2', 'net2', 'idle'],
  );

  // A legacy router on one of the two L3 hosts: only that host (and hosts its ports reach) wake.
  let router!: { id: string };
  const routerHosts = await step(
    'a router with a gateway',
    async () => {
      router = (await ok(admin.post('/routers', { router: { name: 'r', ha: false, project_id: demoProject } }), 201)).router;
      await ok(demo.put(`/routers/${router.id}`, { router: { external_gateway_info: { network_id: provider.id } } }));
    },
    ['c1', 'c2', 'c3', 'idle'],
  );
  assert.equal(routerHosts.length, 1, `one L3 host holds the router: ${routerHosts.join()}`);
  await step('a router interface', () => ok(demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id })), [
    'c2',
    'idle',
  ]);
  await step(
    'router routes',
    () => ok(demo.put(`/routers/${router.id}`, { router: { routes: [{ destination: '10.9.0.0/16', nexthop: '172.16.1.60' }] } })),
    ['c1', 'c2', 'c3', 'idle'],
  );
  let fip!: { id: string };
  await step(
    'a floating IP on the c1 port',
    async () =>
      (fip = (await ok(demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, port_id: a.id } }), 201)).floatingip),
    ['c1', 'c2', 'c3', 'idle'],
  );
  await step('the floating IP disassociated', () => ok(demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: null } })), [
    'c1',
    'c2',
    'c3',
    'idle',
  ]);
  await step('the floating IP deleted', () => ok(demo.del(`/floatingips/${fip.id}`), 204), ['c1', 'c2', 'c3', 'idle']);

  await step(
    'a port forwarding on a floating IP',
    async () => {
      const free = (await ok(demo.post('/floatingips', { floatingip: { floating_network_id: provider.id } }), 201)).floatingip;
      const internal = (await ok(demo.get(`/ports/${a.id}`))).port as unknown as { fixed_ips: Array<{ ip_address: string }> };
      await ok(
        demo.post(`/floatingips/${free.id}/port_forwardings`, {
          port_forwarding: {
            internal_port_id: a.id,
            internal_ip_address: internal.fixed_ips[0].ip_address,
            internal_port: 22,
            external_port: 2222,
            protocol: 'tcp',
          },
        }),
        201,
      );
    },
    ['c1', 'c2', 'c3', 'idle'],
  );

  // Security groups: a remote group makes members on other hosts concerned.
  const web = (await ok(demo.post('/security-groups', { security_group: { name: 'web' } }), 201)).security_group;
  await step(
    'a remote-group rule on a group no port uses',
    () =>
      ok(
        demo.post('/security-group-rules', {
          security_group_rule: { security_group_id: web.id, direction: 'ingress', remote_group_id: web.id },
        }),
        201,
      ),
    ['c1', 'c2', 'c3', 'net', 'net2', 'idle'],
  );
  await step('the c1 port moved into the group', () => ok(demo.put(`/ports/${a.id}`, { port: { security_groups: [web.id] } })), [
    'c2',
    'net2',
    'idle',
  ]);
  assert.ok(
    (
      await step(
        'the c3 port into the group too (c1 sees its address as a member)',
        () => ok(demo.put(`/ports/${b.id}`, { port: { security_groups: [web.id] } })),
        ['c2', 'net2', 'idle'],
      )
    ).includes('c1'),
  );
  await step(
    'the c3 port readdressed (a member address of c1 group)',
    () => ok(demo.put(`/ports/${b.id}`, { port: { fixed_ips: [{ subnet_id: subnet.id, ip_address: '172.16.1.51' }] } })),
    ['c2', 'net2', 'idle'],
  );
  const http = (await step(
    'a rule added',
    () =>
      ok(
        demo.post('/security-group-rules', {
          security_group_rule: { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80 },
        }),
        201,
      ),
    ['c2', 'net', 'net2', 'idle'],
  ),
  (await ok(demo.get(`/security-group-rules?security_group_id=${web.id}&protocol=tcp`))).security_group_rules as unknown as Array<{
    id: string;
  }>)[0];
  await step('the rule deleted', () => ok(demo.del(`/security-group-rules/${http.id}`), 204), ['c2', 'net', 'net2', 'idle']);
  const peers = (await ok(demo.post('/address-groups', { address_group: { name: 'peers', addresses: ['192.0.2.0/28'] } }), 201))
    .address_group;
  await step(
    'a rule naming an address group',
    () =>
      ok(
        demo.post('/security-group-rules', {
          security_group_rule: { security_group_id: web.id, direction: 'ingress', remote_address_group_id: peers.id },
        }),
        201,
      ),
    ['c2', 'net', 'net2', 'idle'],
  );
  await step(
    'addresses added to the address group',
    () => ok(demo.put(`/address-groups/${peers.id}/add_addresses`, { addresses: ['198.51.100.7/32'] })),
    ['c2', 'net', 'net2', 'idle'],
  );

  // An HA router on both L3 hosts; a state report changes the reporting host's view (and moves ports).
  let ha!: { id: string };
  await step(
    'an HA router',
    async () => (ha = (await ok(admin.post('/routers', { router: { name: 'ha', ha: true, project_id: demoProject } }), 201)).router),
    ['c1', 'c2', 'c3', 'idle'],
  );
  await step('an HA state reported', () => ok(admin.post('/neutrino/hosts/net2/ha-router-states', { states: { [ha.id]: 'active' } })), [
    'c1',
    'c2',
    'c3',
    'idle',
  ]);

  // An agent's VXLAN endpoint: the hosts holding its host's ports as remote entries.
  assert.ok(
    (
      await step('c3 moved to another VXLAN endpoint', () => report('Linux bridge agent', 'c3', { tunneling_ip: '192.168.0.99' }), [
        'c2',
        'net2',
        'idle',
      ])
    ).includes('c1'),
  );
  await step('the c3 port deleted', () => ok(demo.del(`/ports/${b.id}`), 204), ['c2', 'net2', 'idle']);
  await step('the c1 port deleted', () => ok(demo.del(`/ports/${a.id}`), 204), ['c2', 'c3', 'net2', 'idle']);
  for (const [host, w] of watches) assert.equal(w.stats.expired, 0, `${host}: ${JSON.stringify(w.stats)}`);
});
