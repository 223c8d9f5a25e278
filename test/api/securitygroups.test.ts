// Security groups and rules over HTTP: the lazily created default group, Neutron's rule validation,
// duplicates, bulk create, in-use and default-group protections, revisions, and project isolation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { api, memberProject, type Api } from '../helpers/client.ts';
import { adminDemoOther, expectError } from '../helpers/networking.ts';
import type { SecurityGroup, SecurityGroupRule } from '../helpers/shapes.ts';

let srv: TestServer;
let adminTok: string;
let admin: Api;
let demo: Api;
let other: Api;
let demoProject: string;
let otherProject: string;

before(async () => {
  srv = await startTestServer();
  ({ adminToken: adminTok, admin, demo, demoProject, other, otherProject } = await adminDemoOther(srv.url));
});
after(() => srv.close());

async function defaultGroupOf(client: Api) {
  const r = await client.get('/security-groups?name=default');
  assert.equal(r.status, 200);
  assert.equal(r.body.security_groups.length, 1, JSON.stringify(r.body));
  return r.body.security_groups[0];
}

async function newGroup(client: Api, name: string, extra: Record<string, unknown> = {}) {
  const r = await client.post('/security-groups', { security_group: { name, ...extra } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.security_group;
}

const ruleBody = (sg: string, extra: Record<string, unknown> = {}) => ({
  security_group_rule: { security_group_id: sg, direction: 'ingress', ...extra },
});

test('listing creates the default group once: ingress from itself and egress anywhere, IPv4 and IPv6', async () => {
  const first = await demo.get('/security-groups');
  assert.equal(first.status, 200);
  assert.equal(first.body.security_groups.length, 1);
  const sg = first.body.security_groups[0];
  assert.equal(sg.name, 'default');
  assert.equal(sg.description, 'Default security group');
  assert.equal(sg.project_id, demoProject);
  assert.equal(sg.tenant_id, demoProject);
  assert.equal(sg.stateful, true);
  assert.equal(sg.shared, false);
  assert.deepEqual(sg.tags, []);
  assert.equal(typeof sg.revision_number, 'number');
  assert.match(sg.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const rules = sg.security_group_rules;
  assert.equal(rules.length, 4);
  const summary = rules
    .map((r: SecurityGroupRule) => `${r.direction} ${r.ethertype} ${r.remote_group_id === sg.id ? 'self' : String(r.remote_group_id)}`)
    .sort();
  assert.deepEqual(summary, ['egress IPv4 null', 'egress IPv6 null', 'ingress IPv4 self', 'ingress IPv6 self']);
  for (const r of rules) {
    assert.equal(r.protocol, null);
    assert.equal(r.port_range_min, null);
    assert.equal(r.port_range_max, null);
    assert.equal(r.remote_ip_prefix, null);
    assert.equal(r.normalized_cidr, null);
    assert.equal(r.remote_address_group_id, null);
    assert.equal(r.security_group_id, sg.id);
    assert.equal(r.project_id, demoProject);
  }
  const again = await demo.get('/security-groups');
  assert.deepEqual(
    again.body.security_groups.map((g: SecurityGroup) => g.id),
    [sg.id],
  );
  const shown = await demo.get(`/security-groups/${sg.id}`);
  assert.equal(shown.status, 200);
  assert.equal(shown.body.security_group.security_group_rules.length, 4);
  // Rules of the default group are listed too.
  const listed = await demo.get(`/security-group-rules?security_group_id=${sg.id}`);
  assert.equal(listed.status, 200);
  assert.equal(listed.body.security_group_rules.length, 4);
});

test('the default group is created lazily by networks, rule listing and group creation, and for other projects only by admins', async () => {
  const a = await memberProject(srv.url, adminTok, 'lazy-a');
  const b = await memberProject(srv.url, adminTok, 'lazy-b');
  const c = await memberProject(srv.url, adminTok, 'lazy-c');
  const d = await memberProject(srv.url, adminTok, 'lazy-d');
  const defaultsOf = async (project: string) =>
    (await admin.get(`/security-groups?project_id=${project}&name=default`)).body.security_groups as SecurityGroup[];

  // Nothing exists before the project does anything — a non-admin naming another project creates nothing.
  const peek = await demo.get(`/security-groups?project_id=${a.projectId}`);
  assert.equal(peek.status, 200);
  assert.deepEqual(peek.body.security_groups, []);
  // Quota usage shows what exists without creating anything (listing would create the group itself).
  const groupsUsed = async (project: string) => (await admin.get(`/quotas/${project}/details`)).body.quota.security_group.used as number;
  assert.equal(await groupsUsed(a.projectId), 0);
  assert.equal(await groupsUsed(b.projectId), 0);
  // Creating a network creates it.
  const net = await api(srv.url, a.token).post('/networks', { network: { name: 'n' } });
  assert.equal(net.status, 201);
  assert.equal(await groupsUsed(a.projectId), 1);
  assert.equal((await admin.get(`/security-groups?tenant_id=${a.projectId}`)).body.security_groups.length, 1);

  // Listing rules creates it.
  const rules = await api(srv.url, b.token).get('/security-group-rules');
  assert.equal(rules.status, 200);
  assert.equal(rules.body.security_group_rules.length, 4);
  assert.equal((await defaultsOf(b.projectId)).length, 1);

  // Creating a group creates it first.
  const made = await newGroup(api(srv.url, c.token), 'web');
  assert.equal(made.security_group_rules.length, 2);
  const cGroups = (await admin.get(`/security-groups?project_id=${c.projectId}`)).body.security_groups;
  assert.deepEqual(cGroups.map((g: SecurityGroup) => g.name).sort(), ['default', 'web']);

  // An admin listing or creating for another project creates that project's default group.
  const listed = await admin.get(`/security-groups?project_id=${d.projectId}`);
  assert.deepEqual(
    listed.body.security_groups.map((g: SecurityGroup) => g.name),
    ['default'],
  );
  assert.equal(listed.body.security_groups[0].project_id, d.projectId);
  const e = await memberProject(srv.url, adminTok, 'lazy-e');
  const forE = await admin.post('/security-groups', { security_group: { name: 'ops', project_id: e.projectId } });
  assert.equal(forE.status, 201);
  assert.equal(forE.body.security_group.project_id, e.projectId);
  const eGroups = (await api(srv.url, e.token).get('/security-groups')).body.security_groups;
  assert.deepEqual(eGroups.map((g: SecurityGroup) => g.name).sort(), ['default', 'ops']);
  // A member may not create for another project.
  const denied = await demo.post('/security-groups', { security_group: { name: 'x', project_id: otherProject } });
  assert.equal(denied.status, 400);
});

test('new groups: egress rules only, stateful flag, name `default` refused in any case', async () => {
  const web = await newGroup(demo, 'web', { description: 'web servers' });
  assert.equal(web.description, 'web servers');
  assert.equal(web.stateful, true);
  const rules = web.security_group_rules;
  assert.deepEqual(rules.map((r: SecurityGroupRule) => `${r.direction} ${r.ethertype}`).sort(), ['egress IPv4', 'egress IPv6']);
  assert.ok(rules.every((r: SecurityGroupRule) => r.remote_group_id === null && r.protocol === null));
  const stateless = await newGroup(demo, 'fast', { stateful: false });
  assert.equal(stateless.stateful, false);
  for (const name of ['default', 'Default', 'DEFAULT']) {
    expectError(
      await demo.post('/security-groups', { security_group: { name } }),
      409,
      'SecurityGroupDefaultAlreadyExists',
      'Default security group already exists.',
    );
  }
  expectError(
    await demo.put(`/security-groups/${web.id}`, { security_group: { name: 'default' } }),
    409,
    'SecurityGroupDefaultAlreadyExists',
  );
  const renamed = await demo.put(`/security-groups/${web.id}`, { security_group: { name: 'www', description: 'd2' } });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.security_group.name, 'www');
  assert.equal(renamed.body.security_group.revision_number, web.revision_number + 1);
  expectError(
    await demo.post('/security-groups', { security_group: { name: 'x', bogus: 1 } }),
    400,
    'HTTPBadRequest',
    "Unrecognized attribute(s) 'bogus'",
  );
  expectError(await demo.put(`/security-groups/${web.id}`, { security_group: { security_group_rules: [] } }), 400, 'HTTPBadRequest');
  // Filters.
  const byName = await demo.get('/security-groups?name=www');
  assert.deepEqual(
    byName.body.security_groups.map((g: SecurityGroup) => g.id),
    [web.id],
  );
  const stateful = await demo.get('/security-groups?stateful=false');
  assert.deepEqual(
    stateful.body.security_groups.map((g: SecurityGroup) => g.id),
    [stateless.id],
  );
});

test('the canonical rules: ICMP and SSH on the default group; duplicates refused; revisions bump', async () => {
  const def = await defaultGroupOf(demo);
  // What `openstack security group rule create --proto icmp default` sends.
  const icmp = await demo.post('/security-group-rules', {
    security_group_rule: {
      security_group_id: def.id,
      ethertype: 'IPv4',
      protocol: 'icmp',
      direction: 'ingress',
      remote_ip_prefix: '0.0.0.0/0',
    },
  });
  assert.equal(icmp.status, 201, JSON.stringify(icmp.body));
  const ir = icmp.body.security_group_rule;
  assert.equal(ir.protocol, 'icmp');
  assert.equal(ir.direction, 'ingress');
  assert.equal(ir.ethertype, 'IPv4');
  assert.equal(ir.port_range_min, null);
  assert.equal(ir.port_range_max, null);
  assert.equal(ir.remote_ip_prefix, '0.0.0.0/0');
  assert.equal(ir.normalized_cidr, '0.0.0.0/0');
  assert.equal(ir.remote_group_id, null);
  assert.equal(ir.remote_address_group_id, null);
  assert.equal(ir.project_id, demoProject);
  assert.equal(ir.tenant_id, demoProject);
  assert.equal(ir.description, '');
  assert.equal(ir.revision_number, 0);
  const afterIcmp = (await demo.get(`/security-groups/${def.id}`)).body.security_group;
  assert.equal(afterIcmp.revision_number, def.revision_number + 1);

  // `--proto tcp --dst-port 22`
  const ssh = await demo.post('/security-group-rules', {
    security_group_rule: {
      security_group_id: def.id,
      ethertype: 'IPv4',
      protocol: 'tcp',
      direction: 'ingress',
      port_range_min: 22,
      port_range_max: 22,
      remote_ip_prefix: '0.0.0.0/0',
    },
  });
  assert.equal(ssh.status, 201);
  const sr = ssh.body.security_group_rule;
  assert.equal(sr.protocol, 'tcp');
  assert.equal(sr.port_range_min, 22);
  assert.equal(sr.port_range_max, 22);
  const group = (await demo.get(`/security-groups/${def.id}`)).body.security_group;
  assert.equal(group.revision_number, def.revision_number + 2);
  assert.equal(group.security_group_rules.length, 6);

  // The same rule again — also spelled as protocol 6, without the prefix, or with a port given as text.
  for (const variant of [
    { protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' },
    { protocol: '6', port_range_min: 22, port_range_max: 22 },
    { protocol: 'TCP', port_range_min: '22', port_range_max: 22, ethertype: 'ipv4' },
  ]) {
    expectError(
      await demo.post('/security-group-rules', ruleBody(def.id, variant)),
      409,
      'SecurityGroupRuleExists',
      `Security group rule already exists. Rule id is ${sr.id}.`,
    );
  }
  // A template rule is a duplicate too.
  const egress = group.security_group_rules.find((r: SecurityGroupRule) => r.direction === 'egress' && r.ethertype === 'IPv4');
  expectError(
    await demo.post('/security-group-rules', ruleBody(def.id, { direction: 'egress', remote_ip_prefix: '0.0.0.0/0' })),
    409,
    'SecurityGroupRuleExists',
    `Security group rule already exists. Rule id is ${egress.id}.`,
  );

  // Show, filter, and delete (bumps the group again).
  const shown = await demo.get(`/security-group-rules/${sr.id}`);
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.body.security_group_rule, sr);
  const tcpRules = await demo.get(`/security-group-rules?security_group_id=${def.id}&protocol=tcp`);
  assert.deepEqual(
    tcpRules.body.security_group_rules.map((r: SecurityGroupRule) => r.id),
    [sr.id],
  );
  const ingress = await demo.get(`/security-group-rules?security_group_id=${def.id}&direction=ingress&ethertype=IPv4`);
  assert.equal(ingress.body.security_group_rules.length, 3);
  const del = await demo.del(`/security-group-rules/${ir.id}`);
  assert.equal(del.status, 204);
  expectError(
    await demo.get(`/security-group-rules/${ir.id}`),
    404,
    'SecurityGroupRuleNotFound',
    `Security group rule ${ir.id} does not exist`,
  );
  expectError(await demo.del(`/security-group-rules/${ir.id}`), 404, 'SecurityGroupRuleNotFound');
  const afterDelete = (await demo.get(`/security-groups/${def.id}`)).body.security_group;
  assert.equal(afterDelete.revision_number, def.revision_number + 3);
  assert.equal(afterDelete.security_group_rules.length, 5);
});

test('rule attributes: defaults, canonical forms, normalized_cidr, IPv6 ICMP names', async () => {
  const g = await newGroup(demo, 'forms');
  const post = (extra: Record<string, unknown>) => demo.post('/security-group-rules', ruleBody(g.id, extra));

  const bare = await post({});
  assert.equal(bare.status, 201);
  assert.equal(bare.body.security_group_rule.ethertype, 'IPv4');
  assert.equal(bare.body.security_group_rule.protocol, null);

  const num = await post({ protocol: 17, port_range_min: 53, port_range_max: 53 });
  assert.equal(num.status, 201);
  assert.equal(num.body.security_group_rule.protocol, '17');

  const named = await post({ protocol: 'UDP', port_range_min: 53, port_range_max: 53 });
  expectError(named, 409, 'SecurityGroupRuleExists');

  const host = await post({ protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '192.0.2.7/24' });
  assert.equal(host.status, 201);
  assert.equal(host.body.security_group_rule.remote_ip_prefix, '192.0.2.7/24');
  assert.equal(host.body.security_group_rule.normalized_cidr, '192.0.2.0/24');

  const single = await post({ protocol: 'tcp', port_range_min: 443, port_range_max: 443, remote_ip_prefix: '198.51.100.9' });
  assert.equal(single.body.security_group_rule.remote_ip_prefix, '198.51.100.9/32');

  const v6 = await post({ ethertype: 'ipv6', protocol: 'icmp', remote_ip_prefix: '2001:DB8::/32' });
  assert.equal(v6.status, 201);
  assert.equal(v6.body.security_group_rule.ethertype, 'IPv6');
  assert.equal(v6.body.security_group_rule.protocol, 'ipv6-icmp');
  assert.equal(v6.body.security_group_rule.remote_ip_prefix, '2001:db8::/32');
  expectError(await post({ ethertype: 'IPv6', protocol: 'icmpv6', remote_ip_prefix: '2001:db8::/32' }), 409, 'SecurityGroupRuleExists');

  const full = await post({ protocol: 'tcp', port_range_min: 1, port_range_max: 65535, description: 'all tcp' });
  assert.equal(full.status, 201);
  assert.equal(full.body.security_group_rule.port_range_min, null);
  assert.equal(full.body.security_group_rule.port_range_max, null);
  assert.equal(full.body.security_group_rule.description, 'all tcp');

  const icmpType = await post({ protocol: 'icmp', port_range_min: 8, port_range_max: 0 });
  assert.equal(icmpType.status, 201);
  assert.equal(icmpType.body.security_group_rule.port_range_min, 8);
  assert.equal(icmpType.body.security_group_rule.port_range_max, 0);

  const vrrp = await post({ protocol: 'vrrp' });
  assert.equal(vrrp.body.security_group_rule.protocol, 'vrrp');

  const remote = await post({ remote_group_id: g.id, protocol: 'tcp', port_range_min: 5432, port_range_max: 5432 });
  assert.equal(remote.status, 201);
  assert.equal(remote.body.security_group_rule.remote_group_id, g.id);
  assert.equal(remote.body.security_group_rule.remote_ip_prefix, null);
});

test('every rule validation error, with Neutron status and type', async () => {
  const g = await newGroup(demo, 'errors');
  const cases: Array<[Record<string, unknown>, number, string, (string | RegExp)?]> = [
    [
      { protocol: 'foo' },
      400,
      'SecurityGroupRuleInvalidProtocol',
      /^Security group rule protocol foo not supported\. Only protocol values \(None, 'any', 'ah'.*integer representations \[0 to 255\] are supported\.$/,
    ],
    [{ protocol: 256 }, 400, 'SecurityGroupRuleInvalidProtocol'],
    [
      { ethertype: 'IPv5' },
      400,
      'SecurityGroupRuleInvalidEtherType',
      "Security group rule for ethertype 'IPv5' not supported. Allowed values are ['IPv4', 'IPv6'].",
    ],
    [
      { protocol: 'tcp', port_range_min: 70000, port_range_max: 70000 },
      400,
      'SecurityGroupInvalidPortValue',
      'Invalid value for port 70000',
    ],
    [{ protocol: 'tcp', port_range_min: 0, port_range_max: 22 }, 400, 'SecurityGroupInvalidPortValue', 'Invalid value for port 0'],
    [{ protocol: 'tcp', port_range_min: 'x' }, 400, 'SecurityGroupInvalidPortValue', 'Invalid value for port x'],
    [
      { protocol: 'tcp', port_range_min: 100, port_range_max: 20 },
      400,
      'SecurityGroupInvalidPortRange',
      'For TCP/UDP protocols, port_range_min must be <= port_range_max',
    ],
    [
      { port_range_min: 22, port_range_max: 22 },
      400,
      'SecurityGroupProtocolRequiredWithPorts',
      'Must also specify protocol if port range is given.',
    ],
    [
      { protocol: 'gre', port_range_min: 1, port_range_max: 2 },
      400,
      'SecurityGroupInvalidProtocolForPort',
      'Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.',
    ],
    [
      { protocol: 'icmp', port_range_min: 300 },
      400,
      'SecurityGroupInvalidIcmpValue',
      'Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.',
    ],
    [
      { protocol: 'icmp', port_range_min: 8, port_range_max: 256 },
      400,
      'SecurityGroupInvalidIcmpValue',
      'Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255.',
    ],
    [
      { protocol: 'icmp', port_range_max: 3 },
      400,
      'SecurityGroupMissingIcmpType',
      'ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing.',
    ],
    [
      { remote_ip_prefix: '10.0.0.0/8', remote_group_id: g.id },
      400,
      'SecurityGroupMultipleRemoteEntites',
      'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.',
    ],
    [
      { remote_ip_prefix: '2001:db8::/64' },
      400,
      'SecurityGroupRuleParameterConflict',
      'Conflicting value ethertype IPv4 for CIDR 2001:db8::/64',
    ],
    [
      { ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/8' },
      400,
      'SecurityGroupRuleParameterConflict',
      'Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8',
    ],
    [{ protocol: 'icmpv6' }, 400, 'SecurityGroupEthertypeConflictWithProtocol', 'Invalid ethertype IPv4 for protocol icmpv6.'],
    [{ protocol: 'ipv6-icmp' }, 400, 'SecurityGroupEthertypeConflictWithProtocol', 'Invalid ethertype IPv4 for protocol ipv6-icmp.'],
    [{ remote_ip_prefix: '10.0.0.0/33' }, 400, 'InvalidCIDR', 'Invalid CIDR 10.0.0.0/33 given as IP prefix.'],
    [{ remote_ip_prefix: 'garbage' }, 400, 'InvalidCIDR', 'Invalid CIDR garbage given as IP prefix.'],
    [{ direction: 'sideways' }, 400, 'HTTPBadRequest', "Invalid input for direction. Reason: 'sideways' is not in ['ingress', 'egress']."],
    [
      { security_group_id: undefined },
      400,
      'HTTPBadRequest',
      "Failed to parse request. Required attribute 'security_group_id' not specified",
    ],
    [{ direction: undefined }, 400, 'HTTPBadRequest', "Failed to parse request. Required attribute 'direction' not specified"],
    [{ name: 'x' }, 400, 'HTTPBadRequest', "Unrecognized attribute(s) 'name'"],
    [{ normalized_cidr: '10.0.0.0/8' }, 400, 'HTTPBadRequest', "Attribute 'normalized_cidr' not allowed in POST"],
    [
      { remote_group_id: '8a1f3c1e-0000-4000-8000-000000000000' },
      404,
      'SecurityGroupNotFound',
      'Security group 8a1f3c1e-0000-4000-8000-000000000000 does not exist',
    ],
    [
      { security_group_id: '8a1f3c1e-0000-4000-8000-000000000001' },
      404,
      'SecurityGroupNotFound',
      'Security group 8a1f3c1e-0000-4000-8000-000000000001 does not exist',
    ],
    [
      { remote_address_group_id: '8a1f3c1e-0000-4000-8000-000000000002' },
      404,
      'AddressGroupNotFound',
      'Address group 8a1f3c1e-0000-4000-8000-000000000002 could not be found.',
    ],
  ];
  for (const [extra, status, type, message] of cases) {
    const body = { security_group_id: g.id, direction: 'ingress', ...extra };
    for (const k of Object.keys(body)) if ((body as Record<string, unknown>)[k] === undefined) delete (body as Record<string, unknown>)[k];
    const r = await demo.post('/security-group-rules', { security_group_rule: body });
    expectError(r, status, type, message);
  }
  // Nothing of that was stored, and the group's revision did not move.
  const after = (await demo.get(`/security-groups/${g.id}`)).body.security_group;
  assert.equal(after.security_group_rules.length, 2);
  assert.equal(after.revision_number, g.revision_number);
});

test('rules are immutable except for their description', async () => {
  const g = await newGroup(demo, 'immutable');
  const r = (await demo.post('/security-group-rules', ruleBody(g.id, { protocol: 'udp', port_range_min: 53, port_range_max: 53 }))).body
    .security_group_rule;
  for (const attr of ['port_range_min', 'protocol', 'direction', 'remote_ip_prefix', 'ethertype', 'security_group_id']) {
    expectError(
      await demo.put(`/security-group-rules/${r.id}`, { security_group_rule: { [attr]: null } }),
      400,
      'HTTPBadRequest',
      `Cannot update read-only attribute ${attr}`,
    );
  }
  const desc = await demo.put(`/security-group-rules/${r.id}`, { security_group_rule: { description: 'dns' } });
  assert.equal(desc.status, 200);
  assert.equal(desc.body.security_group_rule.description, 'dns');
  assert.equal(desc.body.security_group_rule.revision_number, 1);
  assert.equal(desc.body.security_group_rule.port_range_min, 53);
});

test('bulk rule create is all or nothing, with duplicates inside one POST refused', async () => {
  const g = await newGroup(demo, 'bulk');
  const ok = await demo.post('/security-group-rules', {
    security_group_rules: [
      { security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80 },
      { security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 443 },
    ],
  });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.security_group_rules.length, 2);
  assert.deepEqual(
    ok.body.security_group_rules.map((r: SecurityGroupRule) => r.port_range_min),
    [80, 443],
  );

  const dup = await demo.post('/security-group-rules', {
    security_group_rules: [
      { security_group_id: g.id, direction: 'ingress', protocol: 'udp', port_range_min: 53, port_range_max: 53 },
      { security_group_id: g.id, direction: 'ingress', protocol: '17', port_range_min: 53, port_range_max: 53 },
    ],
  });
  expectError(dup, 409, 'DuplicateSecurityGroupRuleInPost', 'Duplicate Security Group Rule in POST.');

  const invalid = await demo.post('/security-group-rules', {
    security_group_rules: [
      { security_group_id: g.id, direction: 'ingress', protocol: 'udp', port_range_min: 123, port_range_max: 123 },
      { security_group_id: g.id, direction: 'ingress', protocol: 'udp', port_range_min: 9, port_range_max: 1 },
    ],
  });
  expectError(invalid, 400, 'SecurityGroupInvalidPortRange');

  const existing = await demo.post('/security-group-rules', {
    security_group_rules: [
      { security_group_id: g.id, direction: 'ingress', protocol: 'udp', port_range_min: 500, port_range_max: 500 },
      { security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80 },
    ],
  });
  expectError(existing, 409, 'SecurityGroupRuleExists');

  const twoGroups = await demo.post('/security-group-rules', {
    security_group_rules: [
      { security_group_id: g.id, direction: 'ingress', protocol: 'udp', port_range_min: 600, port_range_max: 600 },
      {
        security_group_id: (await defaultGroupOf(demo)).id,
        direction: 'ingress',
        protocol: 'udp',
        port_range_min: 600,
        port_range_max: 600,
      },
    ],
  });
  expectError(twoGroups, 400, 'SecurityGroupNotSingleGroupRules');

  // None of the failed requests left anything behind.
  const rules = (await demo.get(`/security-group-rules?security_group_id=${g.id}`)).body.security_group_rules;
  assert.deepEqual(rules.map((r: SecurityGroupRule) => r.port_range_min).sort(), [443, 80, null, null].sort());
  const group = (await demo.get(`/security-groups/${g.id}`)).body.security_group;
  assert.equal(group.revision_number, g.revision_number + 2);
});

test('deleting: a group in use by a port is refused; the default group only by admins; remote rules go along', async () => {
  const net = (await demo.post('/networks', { network: { name: 'sgnet' } })).body.network;
  const web = await newGroup(demo, 'in-use');
  const port = await demo.post('/ports', { port: { network_id: net.id, security_groups: [web.id] } });
  assert.equal(port.status, 201, JSON.stringify(port.body));
  expectError(await demo.del(`/security-groups/${web.id}`), 409, 'SecurityGroupInUse', `Security Group ${web.id} in use.`);
  expectError(await admin.del(`/security-groups/${web.id}`), 409, 'SecurityGroupInUse');
  // Changing `stateful` of a group in use is refused too; other updates are fine.
  expectError(await demo.put(`/security-groups/${web.id}`, { security_group: { stateful: false } }), 409, 'SecurityGroupInUse');
  assert.equal((await demo.put(`/security-groups/${web.id}`, { security_group: { description: 'still used' } })).status, 200);
  assert.equal((await demo.del(`/ports/${port.body.port.id}`)).status, 204);
  assert.equal((await demo.put(`/security-groups/${web.id}`, { security_group: { stateful: false } })).body.security_group.stateful, false);

  // A rule elsewhere naming the group as its remote group is removed with it.
  const db = await newGroup(demo, 'db');
  const remote = await demo.post(
    '/security-group-rules',
    ruleBody(db.id, { protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: web.id }),
  );
  assert.equal(remote.status, 201);
  assert.equal((await demo.del(`/security-groups/${web.id}`)).status, 204);
  expectError(await demo.get(`/security-groups/${web.id}`), 404, 'SecurityGroupNotFound', `Security group ${web.id} does not exist`);
  expectError(await demo.get(`/security-group-rules/${remote.body.security_group_rule.id}`), 404, 'SecurityGroupRuleNotFound');
  const dbRules = (await demo.get(`/security-groups/${db.id}`)).body.security_group.security_group_rules;
  assert.equal(dbRules.length, 2);

  // The default group: members cannot delete or rename it; they may describe it.
  const def = await defaultGroupOf(demo);
  expectError(
    await demo.del(`/security-groups/${def.id}`),
    409,
    'SecurityGroupCannotRemoveDefault',
    'Insufficient rights for removing default security group.',
  );
  expectError(
    await demo.put(`/security-groups/${def.id}`, { security_group: { name: 'renamed' } }),
    409,
    'SecurityGroupCannotUpdateDefault',
    'Updating default security group not allowed.',
  );
  expectError(
    await admin.put(`/security-groups/${def.id}`, { security_group: { name: 'renamed' } }),
    409,
    'SecurityGroupCannotUpdateDefault',
  );
  const described = await demo.put(`/security-groups/${def.id}`, { security_group: { description: 'mine' } });
  assert.equal(described.status, 200);
  assert.equal(described.body.security_group.name, 'default');

  // An admin may delete an unused default group; the next listing creates a fresh one.
  const p = await memberProject(srv.url, adminTok, 'reset-default');
  const client = api(srv.url, p.token);
  const old = await defaultGroupOf(client);
  assert.equal((await admin.del(`/security-groups/${old.id}`)).status, 204);
  const fresh = await defaultGroupOf(client);
  assert.notEqual(fresh.id, old.id);
  assert.equal(fresh.security_group_rules.length, 4);
  expectError(await demo.del('/security-groups/8a1f3c1e-0000-4000-8000-000000000009'), 404, 'SecurityGroupNotFound');
});

test('isolation: other projects neither see nor change a project’s groups and rules; admins see all', async () => {
  const mine = await newGroup(demo, 'private');
  const rule = (
    await demo.post('/security-group-rules', ruleBody(mine.id, { protocol: 'tcp', port_range_min: 8080, port_range_max: 8080 }))
  ).body.security_group_rule;
  const theirs = await other.get('/security-groups');
  assert.equal(theirs.status, 200);
  assert.ok(theirs.body.security_groups.length >= 1);
  assert.ok(theirs.body.security_groups.every((g: SecurityGroup) => g.project_id === otherProject));
  const theirRules = (await other.get('/security-group-rules')).body.security_group_rules;
  assert.ok(theirRules.length >= 4);
  assert.ok(theirRules.every((r: SecurityGroupRule) => r.project_id === otherProject));
  assert.deepEqual((await other.get(`/security-groups?project_id=${demoProject}`)).body.security_groups, []);
  assert.deepEqual((await other.get(`/security-group-rules?security_group_id=${mine.id}`)).body.security_group_rules, []);

  expectError(await other.get(`/security-groups/${mine.id}`), 404, 'SecurityGroupNotFound', `Security group ${mine.id} does not exist`);
  expectError(await other.put(`/security-groups/${mine.id}`, { security_group: { name: 'x' } }), 404, 'SecurityGroupNotFound');
  expectError(await other.del(`/security-groups/${mine.id}`), 404, 'SecurityGroupNotFound');
  expectError(await other.get(`/security-group-rules/${rule.id}`), 404, 'SecurityGroupRuleNotFound');
  expectError(await other.del(`/security-group-rules/${rule.id}`), 404, 'SecurityGroupRuleNotFound');
  expectError(
    await other.post('/security-group-rules', ruleBody(mine.id, { protocol: 'udp' })),
    404,
    'SecurityGroupNotFound',
    `Security group ${mine.id} does not exist`,
  );
  // Nor may another project's group serve as a remote group.
  const otherDefault = await defaultGroupOf(other);
  expectError(
    await other.post('/security-group-rules', ruleBody(otherDefault.id, { remote_group_id: mine.id })),
    404,
    'SecurityGroupNotFound',
  );
  // Nor be put on one's own port.
  const net = (await other.post('/networks', { network: { name: 'o' } })).body.network;
  expectError(await other.post('/ports', { port: { network_id: net.id, security_groups: [mine.id] } }), 404, 'SecurityGroupNotFound');

  // Admins see everything and may add rules to any group; such rules belong to the admin's project
  // but stay visible to the group's owner.
  const all = (await admin.get('/security-groups')).body.security_groups;
  assert.ok(all.some((g: SecurityGroup) => g.id === mine.id));
  assert.ok(all.some((g: SecurityGroup) => g.project_id === otherProject));
  const byAdmin = await admin.post(
    '/security-group-rules',
    ruleBody(mine.id, { protocol: 'udp', port_range_min: 161, port_range_max: 161 }),
  );
  assert.equal(byAdmin.status, 201);
  assert.notEqual(byAdmin.body.security_group_rule.project_id, demoProject);
  const seen = await demo.get(`/security-group-rules/${byAdmin.body.security_group_rule.id}`);
  assert.equal(seen.status, 200);
  assert.equal((await demo.del(`/security-group-rules/${byAdmin.body.security_group_rule.id}`)).status, 204);
});

test('quotas: security groups and rules are counted, the new group’s egress rules included', async () => {
  const p = await memberProject(srv.url, adminTok, 'sg-quota');
  const client = api(srv.url, p.token);
  assert.equal((await admin.put(`/quotas/${p.projectId}`, { quota: { security_group: 2, security_group_rule: 8 } })).status, 200);
  // default (4 rules) + one group (2 rules) fits; a second group would make three groups.
  const g = await newGroup(client, 'one');
  expectError(
    await client.post('/security-groups', { security_group: { name: 'two' } }),
    409,
    'OverQuota',
    "Quota exceeded for resources: ['security_group'].",
  );
  assert.equal(
    (await client.post('/security-group-rules', ruleBody(g.id, { protocol: 'tcp', port_range_min: 1, port_range_max: 2 }))).status,
    201,
  );
  assert.equal(
    (await client.post('/security-group-rules', ruleBody(g.id, { protocol: 'tcp', port_range_min: 3, port_range_max: 4 }))).status,
    201,
  );
  expectError(
    await client.post('/security-group-rules', ruleBody(g.id, { protocol: 'tcp', port_range_min: 5, port_range_max: 6 })),
    409,
    'OverQuota',
    "Quota exceeded for resources: ['security_group_rule'].",
  );
  const details = (await client.get(`/quotas/${p.projectId}/details`)).body.quota;
  assert.deepEqual(details.security_group, { limit: 2, used: 2, reserved: 0 });
  assert.deepEqual(details.security_group_rule, { limit: 8, used: 8, reserved: 0 });
});

test('a port takes stateful or stateless groups, never both: 409 SecurityGroupConflict on create and update', async () => {
  // The earlier tests used up demo's ten groups.
  assert.equal((await admin.put(`/quotas/${demoProject}`, { quota: { security_group: 20 } })).status, 200);
  const net = (await demo.post('/networks', { network: { name: 'mixing' } })).body.network;
  await demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.0.0/24' } });
  const stateful = await newGroup(demo, 'mix-stateful');
  const stateless = await newGroup(demo, 'mix-stateless', { stateful: false });
  const stateless2 = await newGroup(demo, 'mix-stateless-2', { stateful: false });
  const message =
    'Error Cannot apply both stateful and stateless security groups on the same port at the same time while attempting the operation.';
  const before = (await demo.get('/ports')).body.ports.length;
  expectError(
    await demo.post('/ports', { port: { network_id: net.id, security_groups: [stateful.id, stateless.id] } }),
    409,
    'SecurityGroupConflict',
    message,
  );
  assert.equal((await demo.get('/ports')).body.ports.length, before, 'nothing created');
  const port = (await demo.post('/ports', { port: { network_id: net.id, security_groups: [stateless.id, stateless2.id] } })).body.port;
  assert.deepEqual([...port.security_groups].sort(), [stateless.id, stateless2.id].sort());
  expectError(
    await demo.put(`/ports/${port.id}`, { port: { security_groups: [stateless.id, stateful.id] } }),
    409,
    'SecurityGroupConflict',
    message,
  );
  assert.deepEqual([...(await demo.get(`/ports/${port.id}`)).body.port.security_groups].sort(), [stateless.id, stateless2.id].sort());
  const moved = await demo.put(`/ports/${port.id}`, { port: { security_groups: [stateful.id] } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
});
