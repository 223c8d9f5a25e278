// Project isolation, as a generated matrix: project A (a member) uses project B's IDs on every
// resource, verb and referencing attribute, and gets Neutron's answer — 404 of the resource's NotFound
// type when B's object is invisible to A, Neutron's refusal (403/409/400) when it is visible or the
// reference is forbidden — and nothing is written: no change-feed entry, no row of the store changed.
// Includes the router claim (a member's port naming B's router as its device) and what must
// hold afterwards: B's router keeps only its own ports, B can extend and delete it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { memberProject, type Api, type Reply } from '../helpers/client.ts';
import { adminDemoOther, created, errType } from '../helpers/networking.ts';
import { ROUTER_OWNED } from '../../src/model/neutron.ts';
import { changedTables, openStoreReader, type StoreReader } from '../helpers/store.ts';

let srv: TestServer;
let store: StoreReader;
let admin: Api;
/** The member doing the reaching (project A) and the project reached into (B). */
let a: Api;
let b: Api;
let aProject: string;
let bProject: string;
/** A project with nothing yet, not even its default security group. */
let emptyProject: string;

/** Every id the cases refer to; filled in by `before`. */
const ids: Record<string, string> = {};
const L3_HOST = 'iso-l3';
const MISSING = '0e7a5f86-93a2-4c1e-9d43-3b1c1b1c1b1c';

const id = async (p: Promise<Reply>, key: string) => ((await created(p, key)) as { id: string }).id;

before(async () => {
  srv = await startTestServer();
  let demoProject: string;
  let otherProject: string;
  let adminToken: string;
  ({ admin, adminToken, demo: a, demoProject, other: b, otherProject } = await adminDemoOther(srv.url));
  aProject = demoProject;
  bProject = otherProject;
  emptyProject = (await memberProject(srv.url, adminToken, 'empty')).projectId;

  // The admin's external network: usable by every project for gateways and floating IPs.
  ids.ext = await id(
    admin.post('/networks', {
      network: { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'provider' },
    }),
    'network',
  );
  ids.extSub = await id(
    admin.post('/subnets', {
      subnet: {
        network_id: ids.ext,
        ip_version: 4,
        cidr: '10.99.0.0/24',
        gateway_ip: '10.99.0.1',
        allocation_pools: [{ start: '10.99.0.100', end: '10.99.0.200' }],
      },
    }),
    'subnet',
  );
  // B's network shared with everyone (only an admin may set `shared`), and its subnet.
  ids.bShared = await id(admin.post('/networks', { network: { name: 'b-shared', project_id: bProject, shared: true } }), 'network');
  ids.bSharedSub = await id(b.post('/subnets', { subnet: { network_id: ids.bShared, ip_version: 4, cidr: '10.3.0.0/24' } }), 'subnet');

  // B's private resources.
  ids.bNet = await id(b.post('/networks', { network: { name: 'b-net' } }), 'network');
  ids.bSub = await id(b.post('/subnets', { subnet: { network_id: ids.bNet, ip_version: 4, cidr: '10.2.0.0/24' } }), 'subnet');
  ids.bPort = await id(b.post('/ports', { port: { network_id: ids.bNet, name: 'b-port' } }), 'port');
  ids.bRouter = await id(b.post('/routers', { router: { name: 'b-router', external_gateway_info: { network_id: ids.ext } } }), 'router');
  const bIntf = await b.put(`/routers/${ids.bRouter}/add_router_interface`, { subnet_id: ids.bSub });
  assert.equal(bIntf.status, 200, JSON.stringify(bIntf.body));
  ids.bIntfPort = bIntf.body.port_id;
  ids.bSg = await id(b.post('/security-groups', { security_group: { name: 'b-web' } }), 'security_group');
  ids.bRule = await id(
    b.post('/security-group-rules', {
      security_group_rule: { security_group_id: ids.bSg, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 },
    }),
    'security_group_rule',
  );
  ids.bFip = await id(b.post('/floatingips', { floatingip: { floating_network_id: ids.ext } }), 'floatingip');

  // A's resources: a network, subnet, plain port, router (gateway + interface), group, floating IP.
  ids.aNet = await id(a.post('/networks', { network: { name: 'a-net' } }), 'network');
  ids.aSub = await id(a.post('/subnets', { subnet: { network_id: ids.aNet, ip_version: 4, cidr: '10.1.0.0/24' } }), 'subnet');
  ids.aPort = await id(a.post('/ports', { port: { network_id: ids.aNet, name: 'a-port' } }), 'port');
  ids.aRouter = await id(a.post('/routers', { router: { name: 'a-router', external_gateway_info: { network_id: ids.ext } } }), 'router');
  assert.equal((await a.put(`/routers/${ids.aRouter}/add_router_interface`, { subnet_id: ids.aSub })).status, 200);
  ids.aSg = await id(a.post('/security-groups', { security_group: { name: 'a-web' } }), 'security_group');
  ids.aFip = await id(a.post('/floatingips', { floatingip: { floating_network_id: ids.ext } }), 'floatingip');
  ids.aRule = await id(
    a.post('/security-group-rules', { security_group_rule: { security_group_id: ids.aSg, direction: 'ingress', protocol: 'icmp' } }),
    'security_group_rule',
  );
  // Half-claims A may legitimately hold: a router owner without a device, and B's router id as the
  // device of an ordinary (compute) port. Completing either into a claim is refused below.
  for (const owner of ROUTER_OWNED) {
    ids[`aOwnerOnly:${owner}`] = await id(a.post('/ports', { port: { network_id: ids.aNet, device_owner: owner } }), 'port');
  }
  ids.aDeviceOnly = await id(
    a.post('/ports', { port: { network_id: ids.aNet, device_owner: 'compute:nova', device_id: ids.bRouter } }),
    'port',
  );
  // A port of project B on A's network (made by the admin): A sees it as the network's owner.
  ids.bPortOnA = await id(admin.post('/ports', { port: { network_id: ids.aNet, project_id: bProject, name: 'b-on-a' } }), 'port');
  // Another, on a second network of A's, that B made an interface of its router: A owns the network, B the router.
  ids.aNet2 = await id(a.post('/networks', { network: { name: 'a-net2' } }), 'network');
  ids.aSub2 = await id(a.post('/subnets', { subnet: { network_id: ids.aNet2, ip_version: 4, cidr: '10.5.0.0/24' } }), 'subnet');
  ids.bIntfOnA = await id(admin.post('/ports', { port: { network_id: ids.aNet2, project_id: bProject, name: 'b-intf-on-a' } }), 'port');
  const byPort = await b.put(`/routers/${ids.bRouter}/add_router_interface`, { port_id: ids.bIntfOnA });
  assert.equal(byPort.status, 200, JSON.stringify(byPort.body));
});
after(async () => {
  await srv.close();
});

// ---- what "nothing is written" means: no change-feed entry, and no row of the store changed -----------

/** The change feed's entries after `since` (empty when nothing was written). */
async function changesSince(since: number): Promise<{ revision: number; changes: unknown[] }> {
  const r = await admin.get(`/neutrino/changes?since=${since}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

// ---- the matrix --------------------------------------------------------------------------------------

interface Expected {
  status: number;
  /** NeutronError type; absent for a success. */
  type?: string;
  message?: RegExp;
}

interface Case {
  name: string;
  send: () => Promise<Reply>;
  /** Evaluated when the case runs: the ids exist by then. */
  expect: () => Expected;
  /** Extra check of a successful read (lists). */
  check?: (r: Reply) => void;
}

const refused = (status: number, type: string, message?: RegExp): Expected => ({ status, type, message });
const notFoundAs =
  (type: string, idKey: string): (() => Expected) =>
  () =>
    refused(404, type, new RegExp(ids[idKey]));
const policy = (rule: string) =>
  refused(403, 'PolicyNotAuthorized', new RegExp(`${rule.replace(/[()]/g, '\\$&')}.* is disallowed by policy`));
const deviceNotOwned = () =>
  refused(
    409,
    'DeviceIDNotOwnedByTenant',
    new RegExp(`^The following device_id ${ids.bRouter} is not owned by your tenant or matches another tenants router\\.$`),
  );

/** B's private objects (and the external network's subnet): invisible to A, so every verb on them is the resource's NotFound. */
const PRIVATE = [
  { collection: 'networks', key: 'network', idKey: 'bNet', notFound: 'NetworkNotFound', update: { name: 'mine' } },
  { collection: 'subnets', key: 'subnet', idKey: 'bSub', notFound: 'SubnetNotFound', update: { name: 'mine' } },
  // The external network is visible, its subnet is not (access_as_external does not extend to subnets).
  { collection: 'subnets', key: 'subnet', idKey: 'extSub', notFound: 'SubnetNotFound', update: { name: 'mine' } },
  { collection: 'ports', key: 'port', idKey: 'bPort', notFound: 'PortNotFound', update: { name: 'mine' } },
  { collection: 'ports', key: 'port', idKey: 'bIntfPort', notFound: 'PortNotFound', update: { name: 'mine' } },
  { collection: 'routers', key: 'router', idKey: 'bRouter', notFound: 'RouterNotFound', update: { name: 'mine' } },
  { collection: 'floatingips', key: 'floatingip', idKey: 'bFip', notFound: 'FloatingIPNotFound', update: { description: 'mine' } },
  { collection: 'security-groups', key: 'security_group', idKey: 'bSg', notFound: 'SecurityGroupNotFound', update: { name: 'mine' } },
  {
    collection: 'security-group-rules',
    key: 'security_group_rule',
    idKey: 'bRule',
    notFound: 'SecurityGroupRuleNotFound',
    update: { description: 'mine' },
  },
];

/** Objects A may see but not change: B's shared network and its subnet, and the admin's external network. */
const VISIBLE = [
  { path: () => `/networks/${ids.bShared}`, key: 'network', name: "B's shared network" },
  { path: () => `/networks/${ids.ext}`, key: 'network', name: "the admin's external network" },
  { path: () => `/subnets/${ids.bSharedSub}`, key: 'subnet', name: "B's shared subnet" },
];

function matrix(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, send: () => Promise<Reply>, expect: Expected | (() => Expected), check?: (r: Reply) => void) =>
    cases.push({ name, send, expect: typeof expect === 'function' ? expect : () => expect, check });

  for (const p of PRIVATE) {
    const path = () => `/${p.collection}/${ids[p.idKey]}`;
    const nf = notFoundAs(p.notFound, p.idKey);
    add(`show ${p.collection} ${p.idKey}`, () => a.get(path()), nf);
    add(`update ${p.collection} ${p.idKey}`, () => a.put(path(), { [p.key]: p.update }), nf);
    add(`delete ${p.collection} ${p.idKey}`, () => a.del(path()), nf);
    add(
      `list ${p.collection} hides ${p.idKey}`,
      () => a.get(`/${p.collection}`),
      { status: 200 },
      (r) => {
        assert.ok(!JSON.stringify(r.body).includes(ids[p.idKey]), `${p.idKey} listed to A`);
      },
    );
  }
  for (const v of VISIBLE) {
    add(`show ${v.name} (allowed)`, () => a.get(v.path()), { status: 200 });
    add(`update ${v.name}`, () => a.put(v.path(), { [v.key]: { name: 'mine' } }), policy(`rule:update_${v.key}`));
    add(`delete ${v.name}`, () => a.del(v.path()), policy(`rule:delete_${v.key}`));
  }

  // Router actions on B's router, with A's own subnet or B's.
  for (const action of ['add_router_interface', 'remove_router_interface']) {
    for (const sub of ['aSub', 'bSub']) {
      add(
        `${action} on bRouter with ${sub}`,
        () => a.put(`/routers/${ids.bRouter}/${action}`, { subnet_id: ids[sub] }),
        notFoundAs('RouterNotFound', 'bRouter'),
      );
    }
    add(
      `${action} on bRouter with bIntfPort`,
      () => a.put(`/routers/${ids.bRouter}/${action}`, { port_id: ids.bIntfPort }),
      notFoundAs('RouterNotFound', 'bRouter'),
    );
  }
  add(
    'gateway of bRouter',
    () => a.put(`/routers/${ids.bRouter}`, { router: { external_gateway_info: null } }),
    notFoundAs('RouterNotFound', 'bRouter'),
  );

  // Listing another project's security groups neither shows them nor creates that project's default group.
  for (const collection of ['security-groups', 'security-group-rules']) {
    for (const [label, project] of [
      ['B', bProject],
      ['without a default group', emptyProject],
    ]) {
      add(
        `list ${collection} of another project (${label})`,
        () => a.get(`/${collection}?project_id=${project}`),
        { status: 200 },
        (r) => {
          assert.deepEqual(r.body[collection.replace(/-/g, '_')], [], 'nothing of another project listed');
        },
      );
    }
  }

  // The agents' side (host views, the change feed, status reports) and the scheduler views are the admin's.
  const admins = policy('rule:context_is_admin');
  add('host view', () => a.get(`/neutrino/hosts/${L3_HOST}/view`), admins);
  add('change feed', () => a.get('/neutrino/changes?since=0'), admins);
  add(
    'agent report',
    () => a.post('/neutrino/agents/report', { agent: { agent_type: 'L3 agent', host: L3_HOST, configurations: {} } }),
    admins,
  );
  add("status of B's port", () => a.post(`/neutrino/hosts/${L3_HOST}/port-status`, { ports: { [ids.bPort]: 'ACTIVE' } }), admins);
  add(
    "status of B's floating IP",
    () => a.post(`/neutrino/hosts/${L3_HOST}/floatingip-status`, { floatingips: { [ids.bFip]: 'ACTIVE' } }),
    admins,
  );
  add("L3 agents of B's router", () => a.get(`/routers/${ids.bRouter}/l3-agents`), policy('rule:get_l3-agents'));
  add("DHCP agents of B's network", () => a.get(`/networks/${ids.bNet}/dhcp-agents`), policy('rule:get_dhcp-agents'));

  // Quotas of B's project: reading and writing them is the admin's.
  const quota = () => `/quotas/${bProject}`;
  add('show quota of B', () => a.get(quota()), policy('rule:get_quota'));
  add('quota details of B', () => a.get(`${quota()}/details`), policy('rule:get_quota'));
  add('default quota of B', () => a.get(`${quota()}/default`), policy('rule:get_quota'));
  add('update quota of B', () => a.put(quota(), { quota: { network: 1000 } }), policy('rule:update_quota'));
  add('reset quota of B', () => a.del(quota()), policy('rule:delete_quota'));

  // Every attribute that references another resource, set to B's object (create and update).
  const port = (extra: object) => () => a.post('/ports', { port: { network_id: ids.aNet, ...extra } });
  add('port.network_id = bNet', () => a.post('/ports', { port: { network_id: ids.bNet } }), notFoundAs('NetworkNotFound', 'bNet'));
  add(
    'port.network_id = ext (external, not shared)',
    () => a.post('/ports', { port: { network_id: ids.ext } }),
    () => refused(403, 'HTTPForbidden', new RegExp(`Tenant ${aProject} not allowed to create port on this network`)),
  );
  add('port.fixed_ips.subnet_id = bSub', port({ fixed_ips: [{ subnet_id: ids.bSub }] }), () =>
    refused(400, 'InvalidInput', new RegExp(`invalid subnet ${ids.bSub}`)),
  );
  add('port.security_groups = [bSg]', () => port({ security_groups: [ids.bSg] })(), notFoundAs('SecurityGroupNotFound', 'bSg'));
  add(
    'port on bShared with security_groups = [bSg]',
    () => a.post('/ports', { port: { network_id: ids.bShared, security_groups: [ids.bSg] } }),
    notFoundAs('SecurityGroupNotFound', 'bSg'),
  );
  add(
    'port on bShared as a router interface of bRouter',
    () => a.post('/ports', { port: { network_id: ids.bShared, device_owner: 'network:router_interface', device_id: ids.bRouter } }),
    policy('(rule:create_port and rule:create_port:device_owner)'),
  );
  add(
    'update aPort.fixed_ips.subnet_id = bSub',
    () => a.put(`/ports/${ids.aPort}`, { port: { fixed_ips: [{ subnet_id: ids.bSub }] } }),
    () => refused(400, 'InvalidInput', new RegExp(`invalid subnet ${ids.bSub}`)),
  );
  add(
    'update aPort.security_groups = [bSg]',
    () => a.put(`/ports/${ids.aPort}`, { port: { security_groups: [ids.bSg] } }),
    notFoundAs('SecurityGroupNotFound', 'bSg'),
  );
  add(
    "update B's port on A's network with security_groups = [bSg]",
    () => a.put(`/ports/${ids.bPortOnA}`, { port: { security_groups: [ids.bSg] } }),
    notFoundAs('SecurityGroupNotFound', 'bSg'),
  );

  // The router claim: a router-owned device_owner with B's router as device_id, every way it can be written.
  for (const owner of ROUTER_OWNED) {
    add(`claim: create port ${owner} of bRouter`, port({ device_owner: owner, device_id: ids.bRouter }), deviceNotOwned);
    add(
      `claim: bulk create with a port ${owner} of bRouter`,
      () =>
        a.post('/ports', {
          ports: [
            { network_id: ids.aNet, name: 'innocent' },
            { network_id: ids.aNet, device_owner: owner, device_id: ids.bRouter },
          ],
        }),
      deviceNotOwned,
    );
    add(
      `claim: update aPort to ${owner} of bRouter`,
      () => a.put(`/ports/${ids.aPort}`, { port: { device_owner: owner, device_id: ids.bRouter } }),
      deviceNotOwned,
    );
    add(
      `claim: update aOwnerOnly ${owner} with device_id bRouter`,
      () => a.put(`/ports/${ids[`aOwnerOnly:${owner}`]}`, { port: { device_id: ids.bRouter } }),
      deviceNotOwned,
    );
    add(
      `claim: update aDeviceOnly (device bRouter) to ${owner}`,
      () => a.put(`/ports/${ids.aDeviceOnly}`, { port: { device_owner: owner } }),
      deviceNotOwned,
    );
  }
  // The port's project counts, not the network's: B's port on A's network may not join A's router either.
  add(
    "add_router_interface on aRouter with B's port on A's network",
    () => a.put(`/routers/${ids.aRouter}/add_router_interface`, { port_id: ids.bPortOnA }),
    () => refused(409, 'DeviceIDNotOwnedByTenant', new RegExp(`device_id ${ids.aRouter} is not owned`)),
  );
  add(
    "update B's port on A's network into an interface of aRouter",
    () => a.put(`/ports/${ids.bPortOnA}`, { port: { device_owner: 'network:router_interface', device_id: ids.aRouter } }),
    () => refused(409, 'DeviceIDNotOwnedByTenant', new RegExp(`device_id ${ids.aRouter} is not owned`)),
  );
  // B's router port on A's network leaves B's router only by B (or an admin), not by A as the network's owner.
  const detach = (port: object) => () => a.put(`/ports/${ids.bIntfOnA}`, { port });
  add("detach B's router port on A's network: device_owner compute:nova", detach({ device_owner: 'compute:nova' }), deviceNotOwned);
  add("detach B's router port on A's network: device_id ''", detach({ device_id: '' }), deviceNotOwned);
  add("move B's router port on A's network to aRouter", () => detach({ device_id: ids.aRouter })(), deviceNotOwned);
  add(
    "delete B's router port on A's network",
    () => a.del(`/ports/${ids.bIntfOnA}`),
    () =>
      refused(
        409,
        'ServicePortInUse',
        new RegExp(`Port ${ids.bIntfOnA} cannot be deleted directly via the port API: has device owner network:router_interface`),
      ),
  );
  add(
    "add_router_interface on aRouter with B's router port on A's network",
    () => a.put(`/routers/${ids.aRouter}/add_router_interface`, { port_id: ids.bIntfOnA }),
    () => refused(409, 'PortInUse', new RegExp(`Port already has an attached device ${ids.bRouter}`)),
  );
  add(
    'add_router_interface on aRouter with bPort',
    () => a.put(`/routers/${ids.aRouter}/add_router_interface`, { port_id: ids.bPort }),
    notFoundAs('PortNotFound', 'bPort'),
  );
  add(
    'add_router_interface on aRouter with bSub',
    () => a.put(`/routers/${ids.aRouter}/add_router_interface`, { subnet_id: ids.bSub }),
    notFoundAs('SubnetNotFound', 'bSub'),
  );
  add(
    'add_router_interface on aRouter with bSharedSub',
    () => a.put(`/routers/${ids.aRouter}/add_router_interface`, { subnet_id: ids.bSharedSub }),
    () => refused(400, 'BadRequest', new RegExp(`subnet ${ids.bSharedSub} is not owned by project making the request`)),
  );
  add(
    'remove_router_interface on aRouter with bSub',
    () => a.put(`/routers/${ids.aRouter}/remove_router_interface`, { subnet_id: ids.bSub }),
    notFoundAs('SubnetNotFound', 'bSub'),
  );
  add(
    'remove_router_interface on aRouter with bIntfPort',
    () => a.put(`/routers/${ids.aRouter}/remove_router_interface`, { port_id: ids.bIntfPort }),
    () => refused(404, 'RouterInterfaceNotFound', new RegExp(ids.bIntfPort)),
  );

  // References fixed at creation cannot be pointed at B's objects later.
  const READ_ONLY: Array<[string, string, string, string, string]> = [
    ['ports', 'port', 'aPort', 'network_id', 'bNet'],
    ['subnets', 'subnet', 'aSub', 'network_id', 'bNet'],
    ['floatingips', 'floatingip', 'aFip', 'floating_network_id', 'bNet'],
    ['floatingips', 'floatingip', 'aFip', 'router_id', 'bRouter'],
    ['security-group-rules', 'security_group_rule', 'aRule', 'security_group_id', 'bSg'],
    ['security-group-rules', 'security_group_rule', 'aRule', 'remote_group_id', 'bSg'],
  ];
  for (const [collection, key, mine, attr, theirs] of READ_ONLY) {
    add(
      `update ${mine}.${attr} = ${theirs}`,
      () => a.put(`/${collection}/${ids[mine]}`, { [key]: { [attr]: ids[theirs] } }),
      refused(400, 'HTTPBadRequest', new RegExp(`^Cannot update read-only attribute ${attr}$`)),
    );
  }

  // Routers: the gateway's network and addresses.
  for (const verb of ['create', 'update'] as const) {
    const send = (gw: object) => () =>
      verb === 'create'
        ? a.post('/routers', { router: { name: 'r', external_gateway_info: gw } })
        : a.put(`/routers/${ids.aRouter}`, { router: { external_gateway_info: gw } });
    add(`${verb} router with gateway network bNet`, () => send({ network_id: ids.bNet })(), notFoundAs('NetworkNotFound', 'bNet'));
    add(
      `${verb} router with gateway network bShared (not external)`,
      () => send({ network_id: ids.bShared })(),
      () => refused(400, 'BadRequest', new RegExp(`Network ${ids.bShared} is not an external network`)),
    );
    add(
      `${verb} router with external_fixed_ips.subnet_id bSub`,
      () => send({ network_id: ids.ext, external_fixed_ips: [{ subnet_id: ids.bSub }] })(),
      policy(`rule:${verb}_router:external_gateway_info:external_fixed_ips`),
    );
  }

  // Floating IPs: the network, subnet and port they name.
  add(
    'floatingip.floating_network_id = bNet',
    () => a.post('/floatingips', { floatingip: { floating_network_id: ids.bNet } }),
    notFoundAs('NetworkNotFound', 'bNet'),
  );
  add(
    'floatingip.floating_network_id = bShared (not external)',
    () => a.post('/floatingips', { floatingip: { floating_network_id: ids.bShared } }),
    () => refused(400, 'BadRequest', new RegExp(`Network ${ids.bShared} is not a valid external network`)),
  );
  add(
    'floatingip.subnet_id = bSub',
    () => a.post('/floatingips', { floatingip: { floating_network_id: ids.ext, subnet_id: ids.bSub } }),
    () => refused(400, 'InvalidInput', new RegExp(`invalid subnet ${ids.bSub}`)),
  );
  add(
    'floatingip.port_id = bPort',
    () => a.post('/floatingips', { floatingip: { floating_network_id: ids.ext, port_id: ids.bPort } }),
    notFoundAs('PortNotFound', 'bPort'),
  );
  add(
    "floatingip.port_id = B's port on A's network",
    () => a.post('/floatingips', { floatingip: { floating_network_id: ids.ext, port_id: ids.bPortOnA } }),
    () => refused(400, 'BadRequest', new RegExp(`Port ${ids.bPortOnA}, since that port is owned by a different tenant`)),
  );
  add(
    'update aFip.port_id = bPort',
    () => a.put(`/floatingips/${ids.aFip}`, { floatingip: { port_id: ids.bPort } }),
    notFoundAs('PortNotFound', 'bPort'),
  );
  add(
    "update aFip.port_id = B's port on A's network",
    () => a.put(`/floatingips/${ids.aFip}`, { floatingip: { port_id: ids.bPortOnA } }),
    () => refused(400, 'BadRequest', new RegExp(`Port ${ids.bPortOnA}, since that port is owned by a different tenant`)),
  );

  // Subnets: the network they go on.
  add(
    'subnet.network_id = bNet',
    () => a.post('/subnets', { subnet: { network_id: ids.bNet, ip_version: 4, cidr: '10.50.0.0/24' } }),
    notFoundAs('NetworkNotFound', 'bNet'),
  );
  add(
    'subnet.network_id = bShared',
    () => a.post('/subnets', { subnet: { network_id: ids.bShared, ip_version: 4, cidr: '10.50.0.0/24' } }),
    policy('rule:create_subnet'),
  );
  add(
    'subnet.subnetpool_id = unknown',
    () => a.post('/subnets', { subnet: { network_id: ids.aNet, ip_version: 4, cidr: '10.50.0.0/24', subnetpool_id: MISSING } }),
    () => refused(404, 'SubnetPoolNotFound', new RegExp(`^Subnet pool ${MISSING} could not be found\\.$`)),
  );
  add(
    'subnet.network_id = ext',
    () => a.post('/subnets', { subnet: { network_id: ids.ext, ip_version: 4, cidr: '10.50.0.0/24' } }),
    () => refused(403, 'HTTPForbidden', new RegExp(`Tenant ${aProject} not allowed to create subnet on this network`)),
  );

  // Security group rules: the group they belong to and the groups they name.
  const rule = (extra: object) => () =>
    a.post('/security-group-rules', { security_group_rule: { security_group_id: ids.aSg, direction: 'ingress', ...extra } });
  add('rule.security_group_id = bSg', () => rule({ security_group_id: ids.bSg })(), notFoundAs('SecurityGroupNotFound', 'bSg'));
  add('rule.remote_group_id = bSg', () => rule({ remote_group_id: ids.bSg })(), notFoundAs('SecurityGroupNotFound', 'bSg'));
  add(
    'rule.remote_address_group_id = unknown',
    () => rule({ remote_address_group_id: MISSING })(),
    refused(404, 'AddressGroupNotFound', new RegExp(MISSING)),
  );

  // Acting for project B by naming it (project_id / tenant_id) is the admin's.
  const bodies: Array<[string, string, () => object]> = [
    ['networks', 'network', () => ({})],
    ['routers', 'router', () => ({})],
    ['security-groups', 'security_group', () => ({})],
    ['floatingips', 'floatingip', () => ({ floating_network_id: ids.ext })],
    ['ports', 'port', () => ({ network_id: ids.bShared })],
  ];
  for (const [collection, key, body] of bodies) {
    for (const attr of ['project_id', 'tenant_id']) {
      add(
        `create ${key} with ${attr} = B`,
        () => a.post(`/${collection}`, { [key]: { ...body(), [attr]: bProject } }),
        () => refused(400, 'HTTPBadRequest', /other than the authenticated project in request requires admin/),
      );
    }
  }
  return cases;
}

test("isolation matrix: project A with project B's ids gets Neutron's answer and writes nothing", async (t) => {
  const cases = matrix();
  t.diagnostic(`isolation matrix: ${cases.length} cases`);
  store = openStoreReader(srv.db);
  let head = 0;
  for (let page = await changesSince(0); page.changes.length; page = await changesSince(head)) head = page.revision;
  assert.ok((await store.snapshot()).ports.includes(ids.aPort), "the reader sees the server's store");
  for (const c of cases) {
    await t.test(c.name, async () => {
      // Taken per case, so one case's stray write is reported by that case alone.
      const baseline = await store.snapshot();
      head = (await changesSince(head)).revision;
      const r = await c.send();
      const want = c.expect();
      assert.equal(r.status, want.status, `${c.name}: ${JSON.stringify(r.body)}`);
      if (want.type) {
        assert.equal(errType(r), want.type, JSON.stringify(r.body));
        assert.equal(r.body.NeutronError.detail, '');
        if (want.message) assert.match(r.body.NeutronError.message, want.message);
      }
      c.check?.(r);
      assert.deepEqual((await changesSince(head)).changes, [], 'no change-feed entry');
      assert.deepEqual(changedTables(baseline, await store.snapshot()), [], 'no row of the store changed');
    });
  }
});

test('shared and external networks stay usable by other projects', async () => {
  const since = (await changesSince(0)).revision;
  const onShared = await created(
    a.post('/ports', { port: { network_id: ids.bShared, device_owner: 'compute:nova', device_id: ids.bRouter } }),
    'port',
  );
  assert.equal(onShared.project_id, aProject);
  const fip = await created(a.post('/floatingips', { floatingip: { floating_network_id: ids.ext } }), 'floatingip');
  assert.equal((await a.del(`/floatingips/${fip.id}`)).status, 204);
  assert.equal((await a.del(`/ports/${onShared.id}`)).status, 204);
  assert.ok((await changesSince(since)).changes.length > 0, 'the allowed requests did write');
});

test("after the claims, B's router is B's: host view, overlap, deletion; A's floating IP goes through A's router", async () => {
  // An L3 agent takes both routers; the host's view lists each router's own ports only.
  const report = await admin.post('/neutrino/agents/report', {
    agent: { agent_type: 'L3 agent', host: L3_HOST, configurations: {}, start_flag: true },
  });
  assert.equal(report.status, 200, JSON.stringify(report.body));
  const view = (await admin.get(`/neutrino/hosts/${L3_HOST}/view`)).body.view;
  const bView = view.routers.find((r: { id: string }) => r.id === ids.bRouter);
  assert.ok(bView, 'B router scheduled');
  // Its interfaces: bSub, and the port B itself attached on A's second network; none of A's ports.
  assert.deepEqual(bView.interfaces.map((i: { port: { id: string } }) => i.port.id).sort(), [ids.bIntfPort, ids.bIntfOnA].sort());
  assert.deepEqual(bView.interfaces.flatMap((i: { subnets: Array<{ cidr: string }> }) => i.subnets.map((s) => s.cidr)).sort(), [
    '10.2.0.0/24',
    '10.5.0.0/24',
  ]);
  assert.ok(!JSON.stringify(bView).includes(ids.aSub), "A's subnet is not on B's router");
  const bPorts = (await admin.get(`/ports?device_id=${ids.bRouter}`)).body.ports;
  assert.deepEqual(
    bPorts
      .filter((p: { device_owner: string }) => ROUTER_OWNED.includes(p.device_owner))
      .map((p: { project_id: string }) => p.project_id)
      .sort(),
    ['', bProject, bProject],
  );

  // A's floating IP on A's port is routed by A's router.
  const assoc = await a.put(`/floatingips/${ids.aFip}`, { floatingip: { port_id: ids.aPort } });
  assert.equal(assoc.status, 200, JSON.stringify(assoc.body));
  assert.equal(assoc.body.floatingip.router_id, ids.aRouter);

  // B may still put a subnet overlapping A's on its router: nothing of A's is on it.
  const bNet2 = await id(b.post('/networks', { network: { name: 'b-net2' } }), 'network');
  const overlapping = await id(b.post('/subnets', { subnet: { network_id: bNet2, ip_version: 4, cidr: '10.1.0.0/24' } }), 'subnet');
  const added = await b.put(`/routers/${ids.bRouter}/add_router_interface`, { subnet_id: overlapping });
  assert.equal(added.status, 200, JSON.stringify(added.body));

  // RouterInUse names only B's own interfaces; once they are gone B deletes its router.
  const inUse = await b.del(`/routers/${ids.bRouter}`);
  assert.equal(inUse.status, 409, JSON.stringify(inUse.body));
  assert.equal(errType(inUse), 'RouterInUse');
  const attached = /^Router (\S+) has ports still attached: (.*)$/.exec(inUse.body.NeutronError.message);
  assert.ok(attached, inUse.body.NeutronError.message);
  assert.equal(attached[1], ids.bRouter);
  assert.deepEqual(attached[2].split(', ').sort(), [ids.bIntfPort, ids.bIntfOnA, added.body.port_id].sort());
  for (const sub of [ids.bSub, overlapping])
    assert.equal((await b.put(`/routers/${ids.bRouter}/remove_router_interface`, { subnet_id: sub })).status, 200);
  assert.equal((await b.put(`/routers/${ids.bRouter}/remove_router_interface`, { port_id: ids.bIntfOnA })).status, 200);
  assert.equal((await b.del(`/routers/${ids.bRouter}`)).status, 204);
});
