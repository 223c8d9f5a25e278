// Security group rules with a remote address group (security-groups-remote-address-group): stored
// and shown, duplicates and other projects' groups refused, the group in use not deletable; the
// host view carries the named groups' addresses, and the feed moves when they change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError, feedHead } from '../helpers/networking.ts';

test('remote address groups: rules, refusals, in use, host view and feed', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other } = await adminDemoOther(srv.url);

  const ag = await created(
    demo.post('/address-groups', { address_group: { name: 'peers', addresses: ['192.0.2.0/28', '2001:db8::5/128'] } }),
    'address_group',
  );
  const foreign = await created(other.post('/address-groups', { address_group: { name: 'theirs', addresses: [] } }), 'address_group');
  const sg = await created(demo.post('/security-groups', { security_group: { name: 'web' } }), 'security_group');
  const rule = (extra: Record<string, unknown>) => ({
    security_group_rule: {
      security_group_id: sg.id,
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
      ...extra,
    },
  });

  const r = await created(demo.post('/security-group-rules', rule({ remote_address_group_id: ag.id })), 'security_group_rule');
  assert.equal(r.remote_address_group_id, ag.id);
  assert.equal(r.remote_group_id, null);
  assert.equal(r.remote_ip_prefix, null);
  assert.equal((await demo.get(`/security-group-rules/${r.id}`)).body.security_group_rule.remote_address_group_id, ag.id);
  assert.deepEqual((await demo.get(`/security-group-rules?remote_address_group_id=${ag.id}&fields=id`)).body.security_group_rules, [
    { id: r.id },
  ]);
  const v6 = await created(
    demo.post('/security-group-rules', rule({ remote_address_group_id: ag.id, ethertype: 'IPv6' })),
    'security_group_rule',
  );

  expectError(
    await demo.post('/security-group-rules', rule({ remote_address_group_id: ag.id })),
    409,
    'SecurityGroupRuleExists',
    `Security group rule already exists. Rule id is ${r.id}.`,
  );
  // A rule on the same port without the remote is another rule.
  await created(demo.post('/security-group-rules', rule({})), 'security_group_rule');
  expectError(
    await demo.post('/security-group-rules', rule({ remote_address_group_id: foreign.id })),
    404,
    'AddressGroupNotFound',
    `Address group ${foreign.id} could not be found.`,
  );
  expectError(
    await demo.post('/security-group-rules', rule({ remote_address_group_id: ag.id, remote_ip_prefix: '10.0.0.0/8' })),
    400,
    'SecurityGroupMultipleRemoteEntites',
  );
  expectError(await demo.post('/security-group-rules', rule({ remote_address_group_id: 'nope' })), 400, 'HTTPBadRequest');

  expectError(
    await demo.del(`/address-groups/${ag.id}`),
    409,
    'AddressGroupInUse',
    `Address group ${ag.id} is in use on one or more security group rules.`,
  );

  // A port of the group bound to a host: that host's view names the address group with its addresses.
  const net = await created(demo.post('/networks', { network: { name: 'n' } }), 'network');
  await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.9.0.0/24' } }), 'subnet');
  await created(
    admin.post('/ports', {
      port: {
        network_id: net.id,
        project_id: sg.project_id,
        security_groups: [sg.id],
        'binding:host_id': 'ag-host',
        device_owner: 'compute:nova',
      },
    }),
    'port',
  );
  const viewOf = async () => (await admin.get('/neutrino/hosts/ag-host/view')).body.view;
  const view = await viewOf();
  assert.deepEqual(view.address_groups, [{ id: ag.id, addresses: ['192.0.2.0/28', '2001:db8::5/128'] }]);
  const ruleView = view.security_groups.find((g: { id: string }) => g.id === sg.id).rules.find((x: { id: string }) => x.id === r.id);
  assert.equal(ruleView.remote_address_group_id, ag.id);
  assert.equal((await admin.get('/neutrino/hosts/nobody/view')).body.view.address_groups, undefined, 'absent when no rule names one');

  // Changing the addresses moves the feed (agents re-read their view) and the view follows.
  const before = await feedHead(admin);
  assert.equal((await demo.put(`/address-groups/${ag.id}/add_addresses`, { addresses: ['198.51.100.7/32'] })).status, 200);
  assert.ok((await feedHead(admin)) > before, 'the feed moves when the addresses change');
  assert.deepEqual((await viewOf()).address_groups[0].addresses, ['192.0.2.0/28', '198.51.100.7/32', '2001:db8::5/128']);

  // Once no rule names it, the group can go.
  for (const id of [r.id, v6.id]) assert.equal((await demo.del(`/security-group-rules/${id}`)).status, 204);
  assert.equal((await demo.del(`/address-groups/${ag.id}`)).status, 204);

  const ext = await demo.get('/extensions/security-groups-remote-address-group');
  assert.equal(ext.status, 200);
  assert.equal(ext.body.extension.name, 'Remote address group id field for security group rules');
});
