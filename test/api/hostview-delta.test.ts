// Host view deltas over HTTP: two hosts' watches (the agent's HostWatch) follow a sequence of real
// changes — ports created, updated, deleted and reporting status, a router with a gateway and an
// interface, floating IPs, security group rules and a remote group — and after every step the view
// each watch built from deltas equals, byte for byte, the whole view the server gives at that moment
// and a view built afresh from the database (the server keeps port views from one revision to the
// next: networking/port-view-cache.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startTestServer, ADMIN_PASSWORD } from '../helpers/server.ts';
import { adminDemoOther, created, providerNetwork, selfserviceNetwork } from '../helpers/networking.ts';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { HostWatch } from '../../src/agent/host-watch.ts';
import { buildHostView } from '../../src/networking/hostview.ts';
import { unitOfWork } from '../../src/store/unit-of-work.ts';

test('a host view kept by deltas equals the whole view after every change', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo } = await adminDemoOther(srv.url);
  const report = (agent_type: string, host: string, configurations: object = {}) =>
    admin.post('/neutrino/agents/report', { agent: { agent_type, host, configurations, start_flag: true } });
  assert.equal((await report('Linux bridge agent', 'controller', { tunneling_ip: '192.168.0.104' })).status, 200);
  assert.equal((await report('Linux bridge agent', 'compute1', { tunneling_ip: '192.168.0.105' })).status, 200);
  assert.equal((await report('L3 agent', 'controller')).status, 200);
  assert.equal((await report('DHCP agent', 'controller')).status, 200);

  const provider = await providerNetwork(admin);
  // The pool leaves 172.16.1.50 free to name.
  const { net, subnet } = await selfserviceNetwork(demo);

  const watches = ['compute1', 'controller'].map(
    (host) =>
      new HostWatch(
        new NeutrinoClient({ url: srv.url }, { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' }),
        host,
        pino({ level: 'silent' }),
      ),
  );
  for (const w of watches) await w.follow(0);

  /** Every watch catches up (by a delta, or whole when the server finds the delta no smaller) and holds exactly the server's whole view. */
  const step = async (what: string) => {
    for (const w of watches) {
      await w.follow(0);
      const whole = await admin.get(`/neutrino/hosts/${w.view!.host}/view`);
      assert.equal(JSON.stringify(w.view), JSON.stringify(whole.body.view), `${what}: ${w.view!.host}'s view`);
      const afresh = await unitOfWork(srv.db, async (tx) => {
        const head = await tx
          .selectFrom('changes')
          .select((eb) => eb.fn.max('revision').as('r'))
          .executeTakeFirst();
        return buildHostView(tx, w.view!.host, Number(head?.r ?? 0));
      });
      assert.equal(JSON.stringify(w.view), JSON.stringify(afresh), `${what}: ${w.view!.host}'s view against one built afresh`);
    }
  };
  const ok = async (p: Promise<{ status: number; body: unknown }>, status = 200) => {
    const r = await p;
    assert.equal(r.status, status, JSON.stringify(r.body));
    return r.body as Record<string, { id: string } & Record<string, unknown>>;
  };
  const bound = (name: string, host: string, extra: object = {}) =>
    created(
      demo.post('/ports', { port: { network_id: net.id, name, device_owner: 'compute:nova', device_id: name, ...extra } }),
      'port',
    ).then(async (p) => (await ok(admin.put(`/ports/${p.id}`, { port: { 'binding:host_id': host } }))).port);

  await step('nothing changed');
  const a = await bound('a', 'compute1');
  await step('a port bound to compute1');
  const b = await bound('b', 'controller');
  await step('a port on the same network bound to the controller (a remote port of compute1)');
  await ok(demo.put(`/ports/${a.id}`, { port: { admin_state_up: false } }));
  await step('the port set down');
  await ok(demo.put(`/ports/${a.id}`, { port: { name: 'a2' } }));
  await step('the port renamed (nothing in any view changes)');
  await ok(admin.post('/neutrino/hosts/compute1/port-status', { ports: { [a.id]: 'ACTIVE' } }));
  await step('the port reported ACTIVE');
  await ok(demo.put(`/ports/${b.id}`, { port: { fixed_ips: [{ subnet_id: subnet.id, ip_address: '172.16.1.50' }] } }));
  await step('the remote port readdressed');

  const router = (await ok(demo.post('/routers', { router: { name: 'r' } }), 201)).router;
  await ok(demo.put(`/routers/${router.id}`, { router: { external_gateway_info: { network_id: provider.id } } }));
  await step('a router with a gateway');
  await ok(demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id }));
  await step('a router interface');

  const fip = (await ok(demo.post('/floatingips', { floatingip: { floating_network_id: provider.id, port_id: a.id } }), 201)).floatingip;
  await step('a floating IP on the port');
  await ok(demo.put(`/floatingips/${fip.id}`, { floatingip: { port_id: null } }));
  await step('the floating IP disassociated');
  await ok(demo.del(`/floatingips/${fip.id}`), 204);
  await step('the floating IP deleted');

  const web = (await ok(demo.post('/security-groups', { security_group: { name: 'web' } }), 201)).security_group;
  const fromWeb = (
    await ok(
      demo.post('/security-group-rules', {
        security_group_rule: { security_group_id: web.id, direction: 'ingress', remote_group_id: web.id },
      }),
      201,
    )
  ).security_group_rule;
  await ok(demo.put(`/ports/${a.id}`, { port: { security_groups: [web.id] } }));
  await step('the port moved into a group with a remote-group rule');
  const c = await bound('c', 'controller', { security_groups: [web.id] });
  await step('another member of the remote group, on the controller');
  const http = (
    await ok(
      demo.post('/security-group-rules', {
        security_group_rule: { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80 },
      }),
      201,
    )
  ).security_group_rule;
  await step('a rule added');
  await ok(demo.del(`/security-group-rules/${http.id}`), 204);
  await ok(demo.del(`/security-group-rules/${fromWeb.id}`), 204);
  await step('rules deleted');

  await ok(demo.put(`/routers/${router.id}/remove_router_interface`, { subnet_id: subnet.id }));
  await step('the router interface removed');
  const v6 = (
    await ok(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 6, cidr: 'fd00:1::/64', ipv6_address_mode: 'slaac' } }), 201)
  ).subnet;
  await step('an IPv6 SLAAC subnet: every port of the network gets an address');
  await ok(demo.del(`/subnets/${v6.id}`), 204);
  await step('the SLAAC subnet deleted: the ports lose their addresses there');
  await ok(demo.del(`/ports/${c.id}`), 204);
  await ok(demo.del(`/ports/${b.id}`), 204);
  await step('ports deleted');
  await ok(demo.del(`/ports/${a.id}`), 204);
  await step('compute1 left without ports');
  // Whole views: the first fetch, and changes the server found no smaller as deltas (the SLAAC subnet readdresses every port).
  for (const w of watches) assert.ok(w.stats.deltas >= 15 && w.stats.fullSyncs <= 5, `${w.view!.host}: ${JSON.stringify(w.stats)}`);
});

test('a view the server does not hold, or one behind a restart, is answered whole', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin } = await adminDemoOther(srv.url);
  const first = await admin.get('/neutrino/hosts/h1/view');
  assert.equal(first.status, 200);
  assert.equal(first.body.reason, 'first');
  const rev = first.body.view.revision as number;
  const unknown = await admin.get(`/neutrino/hosts/h1/view?since=${rev}&tag=elsewhere-1&wait=0`);
  assert.equal(unknown.status, 200);
  assert.deepEqual([unknown.body.reason, unknown.body.view], ['unknown-base', first.body.view]);
  const same = await admin.get(`/neutrino/hosts/h1/view?since=${rev}&tag=${unknown.body.tag}&wait=0`);
  assert.deepEqual(same.body.delta, { since: rev, revision: rev, sections: {} });
  const bad = await admin.get(`/neutrino/hosts/h1/view?since=x&tag=t`);
  assert.equal(bad.status, 400);
});
