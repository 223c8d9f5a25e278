// Metering labels and rules (the `metering` extension): admin-only CRUD under /v2.0/metering,
// Neutron's refusals; a router's host view carries its project's and the shared labels; agents'
// reports (what each label counted since the last one) add up per host, label and router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError } from '../helpers/networking.ts';

test('metering: labels and rules, refusals, the routers they apply to, counters', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, demoProject } = await adminDemoOther(srv.url);

  const label = await created(
    admin.post('/metering/metering-labels', { metering_label: { name: 'out', description: 'to the world', project_id: demoProject } }),
    'metering_label',
  );
  assert.deepEqual(
    { ...label, id: undefined },
    { id: undefined, name: 'out', description: 'to the world', shared: false, project_id: demoProject, tenant_id: demoProject },
  );
  const shared = await created(
    admin.post('/metering/metering-labels', { metering_label: { name: 'all', shared: true } }),
    'metering_label',
  );
  assert.equal(shared.shared, true);
  expectError(
    await demo.post('/metering/metering-labels', { metering_label: { name: 'x' } }),
    403,
    'PolicyNotAuthorized',
    'rule:create_metering_label is disallowed by policy',
  );
  expectError(await demo.get(`/metering/metering-labels/${label.id}`), 403, 'PolicyNotAuthorized');

  const rule = await created(
    admin.post('/metering/metering-label-rules', {
      metering_label_rule: { metering_label_id: label.id, direction: 'egress', remote_ip_prefix: '0.0.0.0/0' },
    }),
    'metering_label_rule',
  );
  assert.equal(rule.excluded, false);
  assert.equal(rule.direction, 'egress');
  assert.equal(rule.remote_ip_prefix, '0.0.0.0/0');
  const excluded = await created(
    admin.post('/metering/metering-label-rules', {
      metering_label_rule: { metering_label_id: label.id, direction: 'egress', remote_ip_prefix: '10.0.0.0/8', excluded: true },
    }),
    'metering_label_rule',
  );
  assert.equal(excluded.excluded, true);
  const missing = '8a1f3c1e-0000-4000-8000-000000000009';
  expectError(
    await admin.post('/metering/metering-label-rules', {
      metering_label_rule: { metering_label_id: missing, direction: 'egress', remote_ip_prefix: '0.0.0.0/0' },
    }),
    404,
    'MeteringLabelNotFound',
    `Metering label '${missing}' does not exist.`,
  );
  expectError(
    await admin.post('/metering/metering-label-rules', {
      metering_label_rule: { metering_label_id: label.id, direction: 'out', remote_ip_prefix: '0.0.0.0/0' },
    }),
    400,
    'HTTPBadRequest',
    "Invalid input for direction. Reason: 'out' is not in ['ingress', 'egress'].",
  );
  expectError(
    await admin.post('/metering/metering-label-rules', {
      metering_label_rule: { metering_label_id: label.id, direction: 'egress', remote_ip_prefix: '10.0.0.1/8' },
    }),
    400,
    'HTTPBadRequest',
    "Invalid input for remote_ip_prefix. Reason: '10.0.0.1/8' isn't a recognized IP subnet cidr, '10.0.0.0/8' is recommended.",
  );
  expectError(
    await admin.get(`/metering/metering-label-rules/${missing}`),
    404,
    'MeteringLabelRuleNotFound',
    `Metering label rule '${missing}' does not exist.`,
  );
  assert.deepEqual(
    (await admin.get(`/metering/metering-label-rules?metering_label_id=${label.id}&fields=id&sort_key=id`)).body.metering_label_rules
      .map((r: { id: string }) => r.id)
      .sort(),
    [rule.id, excluded.id].sort(),
  );

  // A demo router on an L3 host: its view carries the demo label and the shared one, with the rules.
  assert.equal(
    (await admin.post('/neutrino/agents/report', { agent: { agent_type: 'L3 agent', host: 'meter-host', configurations: {} } })).status,
    200,
  );
  const router = await created(demo.post('/routers', { router: { name: 'r' } }), 'router');
  // A router is scheduled to an L3 agent once it has a port.
  const net = await created(demo.post('/networks', { network: { name: 'n' } }), 'network');
  const sub = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.0.0/24' } }), 'subnet');
  assert.equal((await demo.put(`/routers/${router.id}/add_router_interface`, { subnet_id: sub.id })).status, 200);
  const view = (await admin.get('/neutrino/hosts/meter-host/view')).body.view;
  const r = view.routers.find((x: { id: string }) => x.id === router.id);
  assert.ok(r, JSON.stringify(view.routers));
  assert.deepEqual(r.metering_labels.map((l: { id: string }) => l.id).sort(), [label.id, shared.id].sort());
  const mine = r.metering_labels.find((l: { id: string }) => l.id === label.id);
  assert.deepEqual(mine.rules.map((x: { remote_ip_prefix: string; excluded: boolean }) => [x.remote_ip_prefix, x.excluded]).sort(), [
    ['0.0.0.0/0', false],
    ['10.0.0.0/8', true],
  ]);

  // Reports are deltas (the agent zeroes its chains as it reads them): they add up; labels gone are dropped.
  const report = (deltas: unknown) => admin.post('/neutrino/hosts/meter-host/metering-counters', { deltas });
  const one = { label_id: label.id, router_id: router.id, packets: 3, bytes: 252 };
  assert.deepEqual((await report([one, { ...one, label_id: missing }])).body, { recorded: 1 });
  assert.deepEqual((await report([{ ...one, packets: 2, bytes: 168 }])).body, { recorded: 1 });
  const read = (await admin.get('/neutrino/metering-counters')).body.counters;
  assert.deepEqual(
    read.map(({ updated_at: _u, ...c }: { updated_at: string }) => c),
    [{ ...one, packets: 5, bytes: 420, host: 'meter-host' }],
  );
  expectError(await report([{ label_id: label.id }]), 400, 'HTTPBadRequest');
  expectError(await admin.post('/neutrino/hosts/meter-host/metering-counters', { counters: [one] }), 400, 'HTTPBadRequest');
  assert.equal((await demo.get('/neutrino/metering-counters')).status, 403);

  assert.equal((await admin.del(`/metering/metering-label-rules/${excluded.id}`)).status, 204);
  assert.equal((await admin.del(`/metering/metering-labels/${label.id}`)).status, 204);
  expectError(await admin.get(`/metering/metering-labels/${label.id}`), 404, 'MeteringLabelNotFound');
  assert.deepEqual((await admin.get('/neutrino/metering-counters')).body.counters, [], 'counters go with their label');
  assert.equal((await admin.get(`/metering/metering-label-rules/${rule.id}`)).status, 404, 'rules go with their label');

  const ext = await admin.get('/extensions/metering');
  assert.equal(ext.status, 200);
  assert.equal(ext.body.extension.name, 'Neutron Metering');
});

test('metering rules: source and destination prefixes, the remote prefix alone, overlaps (MeteringLabelRuleOverlaps)', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin } = await adminDemoOther(srv.url);
  const label = await created(admin.post('/metering/metering-labels', { metering_label: { name: 'sd' } }), 'metering_label');
  const post = (rule: Record<string, unknown>) =>
    admin.post('/metering/metering-label-rules', { metering_label_rule: { metering_label_id: label.id, direction: 'egress', ...rule } });

  const sd = await created(post({ source_ip_prefix: '10.0.0.5/24', destination_ip_prefix: '203.0.113.7' }), 'metering_label_rule');
  assert.deepEqual(
    [sd.remote_ip_prefix, sd.source_ip_prefix, sd.destination_ip_prefix],
    [null, '10.0.0.5/24', '203.0.113.7/32'],
    'str(netaddr.IPNetwork(...)): host bits kept, a length added',
  );
  // Neutron checks overlaps of remote prefixes only: the same source prefix again is accepted.
  await created(post({ source_ip_prefix: '10.0.0.0/24' }), 'metering_label_rule');

  expectError(
    await post({ remote_ip_prefix: '10.1.0.0/16', source_ip_prefix: '10.0.0.0/24' }),
    400,
    'Invalid',
    "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.",
  );
  expectError(
    await post({}),
    400,
    'Invalid',
    "You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.",
  );
  expectError(
    await post({ destination_ip_prefix: 'nowhere' }),
    400,
    'Invalid',
    "destination_ip_prefix: nowhere is invalid ['nowhere' does not appear to be an IPv4 or IPv6 interface].",
  );

  await created(post({ remote_ip_prefix: '10.1.0.0/16' }), 'metering_label_rule');
  expectError(
    await post({ remote_ip_prefix: '10.1.2.0/24' }),
    409,
    'MeteringLabelRuleOverlaps',
    "Metering label rule with remote_ip_prefix '10.1.2.0/24' overlaps another.",
  );
  // Another direction, or excluded, is another set of rules.
  await created(post({ remote_ip_prefix: '10.1.2.0/24', direction: 'ingress' }), 'metering_label_rule');
  await created(post({ remote_ip_prefix: '10.1.2.0/24', excluded: true }), 'metering_label_rule');

  const listed = (await admin.get(`/metering/metering-label-rules?source_ip_prefix=10.0.0.5/24`)).body.metering_label_rules;
  assert.deepEqual(
    listed.map((r: { id: string }) => r.id),
    [sd.id],
  );
});
