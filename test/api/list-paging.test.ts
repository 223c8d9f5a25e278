// Paged lists against unpaged ones: for a few hundred ports (some another project's, some invisible),
// every combination of filters, sort keys and page size walked forwards and backwards through the
// `ports_links` gives exactly the unpaged list in the same order. And the marker's rules: with a
// limit it must be a resource the caller sees (Neutron's <Resource>NotFound otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { adminDemoOther, created, expectError, providerNetwork, selfserviceNetwork } from '../helpers/networking.ts';
import type { Api, Reply } from '../helpers/client.ts';
import { authContext } from '../../src/model/context.ts';
import { parseListQuery, type RawQuery } from '../../src/model/query.ts';
import { buildServices } from '../../src/networking/index.ts';
import { unitOfWork } from '../../src/store/unit-of-work.ts';
import type { TestServer } from '../helpers/server.ts';

const NAMES = ['a', 'B', 'b', '_x', 'Z', 'é', 'a b', ''];
const OWNERS = ['compute:nova', 'compute:az1', ''];

/** Follows one kind of link from `path` to its end; the pages in the order they came. */
async function walk(client: Api, path: string, rel: 'next' | 'previous', plural = 'ports'): Promise<Array<Array<{ id: string }>>> {
  const pages: Array<Array<{ id: string }>> = [];
  let next: string | undefined = path;
  for (let guard = 0; next; guard++) {
    assert.ok(guard < 500, 'too many pages');
    const r: Reply = await client.get(next);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    pages.push(r.body[plural]);
    const link = (r.body[`${plural}_links`] ?? []).find((l: { rel: string }) => l.rel === rel) as { href: string } | undefined;
    next = link ? link.href.slice(link.href.indexOf('/v2.0') + '/v2.0'.length) : undefined;
  }
  return pages;
}

const ids = (items: Array<{ id: string }>) => items.map((p) => p.id);

/** Walks `query` in pages of `limit` forwards, then from the last page backwards: both give `expected`. */
async function pagesAgree(client: Api, path: string, query: string, limit: number, expected: string[], what: string) {
  const paged = `/${path}?${[query, `limit=${limit}`].filter(Boolean).join('&')}`;
  const plural = path.split('/').pop()!.replaceAll('-', '_');
  const forward = await walk(client, paged, 'next', plural);
  assert.deepEqual(ids(forward.flat()), expected, what);
  assert.ok(
    forward.every((p, i) => p.length === limit || i === forward.length - 1),
    what,
  );
  const backward = await walk(client, `${paged}&page_reverse=True`, 'previous', plural);
  assert.deepEqual(ids(backward.reverse().flat()), expected, `${what} backwards`);
  assert.deepEqual(ids(backward[backward.length - 1]), expected.slice(-limit), `${what} last page`);
}

/** For every client × filter × sort: the unpaged list, then each page size walked both ways gives it. */
async function everyCombinationPagesAgree(
  clients: ReadonlyArray<readonly [string, Api]>,
  path: string,
  filters: string[],
  sorts: string[],
  limits: number[],
  label = '',
) {
  const plural = path.split('/').pop()!.replaceAll('-', '_');
  for (const [who, client] of clients) {
    for (const filter of filters) {
      for (const sort of sorts) {
        const query = [filter, sort].filter(Boolean).join('&');
        const all = await client.get(`/${path}${query ? `?${query}` : ''}`);
        assert.equal(all.status, 200, JSON.stringify(all.body));
        // Asking for one field loads only what the filters and sorts need: the same items, in order.
        const onlyIds = await client.get(`/${path}?${[query, 'fields=id'].filter(Boolean).join('&')}`);
        assert.deepEqual(
          onlyIds.body[plural],
          ids(all.body[plural]).map((id) => ({ id })),
          `${who}: ${label}${query} fields=id`,
        );
        for (const limit of limits) {
          await pagesAgree(client, path, query, limit, ids(all.body[plural]), `${who}: ${label}${query} limit=${limit}`);
        }
      }
    }
  }
}

async function setup() {
  const srv = await startTestServer();
  const { admin, demo, other, otherProject } = await adminDemoOther(srv.url);
  const net = await created(demo.post('/networks', { network: { name: 'n' } }), 'network');
  const s1 = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.20.0.0/23' } }), 'subnet');
  const s2 = await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.30.0.0/24' } }), 'subnet');
  const ports = Array.from({ length: 180 }, (_, i) => ({
    network_id: net.id,
    name: NAMES[i % NAMES.length],
    device_owner: OWNERS[i % OWNERS.length],
    device_id: `dev-${i % 11}`,
    admin_state_up: i % 4 !== 0,
    fixed_ips: i % 5 === 0 ? [{ subnet_id: s1.id }, { subnet_id: s2.id }] : [{ subnet_id: i % 2 ? s1.id : s2.id }],
    tags: [['x', 'y'], ['x'], ['y'], []][i % 4],
  }));
  for (let i = 0; i < ports.length; i += 60) {
    const r = await demo.post('/ports', { ports: ports.slice(i, i + 60).map((port) => ({ port })) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  // The other project's ports on demo's network (demo sees them) and on its own (demo does not).
  for (let i = 0; i < 20; i++) {
    await created(admin.post('/ports', { port: { network_id: net.id, project_id: otherProject, name: NAMES[i % 3] } }), 'port');
  }
  const otherNet = await created(other.post('/networks', { network: { name: 'o' } }), 'network');
  await created(other.post('/subnets', { subnet: { network_id: otherNet.id, ip_version: 4, cidr: '10.40.0.0/24' } }), 'subnet');
  const hidden: Array<{ id: string }> = [];
  for (let i = 0; i < 10; i++) hidden.push(await created(other.post('/ports', { port: { network_id: otherNet.id, name: 'a' } }), 'port'));
  return { srv, admin, demo, net, s1, s2, hidden };
}

test('every filter/sort/limit combination pages, forwards and backwards, to the unpaged list', async (t) => {
  const { srv, admin, demo, net, s1 } = await setup();
  t.after(() => srv.close());
  const filters = [
    '',
    'device_owner=compute:nova',
    'admin_state_up=false',
    `fixed_ips=subnet_id=${s1.id}`,
    'fixed_ips=ip_address_substr=.1&fixed_ips=ip_address=10.30.0.7',
    'name=a&name=b&name=',
    `network_id=${net.id}&device_id=dev-3&device_id=dev-4`,
    'name=nobody',
    'tags=x,y',
    'tags-any=y&not-tags=x',
  ];
  const sorts = [
    '',
    'sort_key=name&sort_dir=desc',
    'sort_key=admin_state_up&sort_dir=asc&sort_key=name&sort_dir=desc',
    'sort_key=device_owner&sort_dir=asc&sort_key=id&sort_dir=desc',
  ];
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['admin', admin],
    ],
    'ports',
    filters,
    sorts,
    [13, 61],
  );
});

test('a marker with a limit must be visible: unknown or another project’s is PortNotFound; a filtered-out one pages from its place', async (t) => {
  const { srv, demo, hidden } = await setup();
  t.after(() => srv.close());
  const unknown = '00000000-0000-4000-8000-000000000000';
  expectError(await demo.get(`/ports?limit=5&marker=${unknown}`), 404, 'PortNotFound', `Port ${unknown} could not be found.`);
  expectError(await demo.get(`/ports?limit=5&marker=${hidden[0].id}`), 404, 'PortNotFound', `Port ${hidden[0].id} could not be found.`);
  expectError(
    await demo.get(`/ports?limit=5&sort_key=name&sort_dir=asc&page_reverse=True&device_owner=x&marker=${unknown}`),
    404,
    'PortNotFound',
  );
  expectError(await demo.get(`/networks?limit=1&marker=${unknown}`), 404, 'NetworkNotFound', `Network ${unknown} could not be found.`);
  expectError(await demo.get(`/subnets?limit=1&marker=${unknown}`), 404, 'SubnetNotFound', `Subnet ${unknown} could not be found.`);

  // A marker PostgreSQL text cannot hold (a NUL) is just unknown; such a filter value matches nothing.
  expectError(await demo.get('/ports?limit=5&marker=a%00b'), 404, 'PortNotFound');
  assert.equal((await demo.get('/ports?name=a%00b&mtu=1&limit=2')).status, 400);
  assert.deepEqual((await demo.get('/ports?name=a%00b&limit=2')).body.ports, []);
  assert.deepEqual((await demo.get('/networks?mtu=99999999999999999999&limit=2')).body.networks, []);

  // A limit beyond any table's size is the whole list, without links.
  const huge = await demo.get('/ports?limit=99999999999999999999');
  assert.equal(huge.status, 200, JSON.stringify(huge.body));
  assert.equal(huge.body.ports_links, undefined);
  assert.equal(huge.body.ports.length, (await demo.get('/ports')).body.ports.length);

  // Without a limit there is no paging: Neutron ignores the marker.
  const all = ids((await demo.get('/ports')).body.ports);
  assert.deepEqual(ids((await demo.get(`/ports?marker=${unknown}`)).body.ports), all);

  // A visible marker the filter leaves out: the page starts after its place in the order.
  const nova = ids((await demo.get('/ports?device_owner=compute:nova')).body.ports);
  const outside = all.find((id) => !nova.includes(id) && id > nova[3]) as string;
  const r = await demo.get(`/ports?device_owner=compute:nova&limit=4&marker=${outside}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(ids(r.body.ports), nova.filter((id) => id > outside).slice(0, 4));
  assert.deepEqual(
    r.body.ports_links.map((l: { rel: string }) => l.rel),
    ['next', 'previous'],
  );
});

test('networks and subnets: filters and sorts (pushed down or not) and limits page to the unpaged list', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other, otherProject } = await adminDemoOther(srv.url);
  let subnetId = '';
  for (let i = 0; i < 30; i++) {
    const net = await created(
      demo.post('/networks', { network: { name: NAMES[i % NAMES.length], admin_state_up: i % 3 !== 0 } }),
      'network',
    );
    if (i % 4) assert.equal((await demo.put(`/networks/${net.id}/tags`, { tags: i % 2 ? ['odd'] : ['even', 'odd'] })).status, 200);
    if (i % 3 === 1) {
      const subnet = { network_id: net.id, ip_version: 4, cidr: `10.50.${i}.0/24`, enable_dhcp: i % 2 === 0, name: NAMES[i % 5] };
      subnetId = (await created(demo.post('/subnets', { subnet }), 'subnet')).id;
    }
  }
  for (let i = 0; i < 12; i++) {
    const mine = i % 2 ? { name: NAMES[i % 4] } : { name: NAMES[i % 4], shared: true, project_id: otherProject };
    const net = await created((i % 2 ? other : admin).post('/networks', { network: mine }), 'network');
    const subnet = { network_id: net.id, ip_version: 4, cidr: `10.60.${i}.0/24`, gateway_ip: i % 4 ? null : `10.60.${i}.9` };
    await created(other.post('/subnets', { subnet }), 'subnet');
  }
  const filters = [
    '',
    'shared=true',
    'admin_state_up=false',
    'name=a&name=b',
    `subnets=${subnetId}`,
    'provider:physical_network=',
    'mtu=1450&mtu=1500',
    'not-tags-any=even&tags=odd',
  ];
  const sorts = ['', 'sort_key=name&sort_dir=desc', 'sort_key=mtu&sort_dir=asc&sort_key=name&sort_dir=asc&sort_key=id&sort_dir=desc'];
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['admin', admin],
    ],
    'networks',
    filters,
    sorts,
    [4, 17],
  );
  const subnetFilters = ['', 'enable_dhcp=false', 'ip_version=4&name=a&name=b', 'gateway_ip='];
  const subnetSorts = [
    '',
    'sort_key=cidr&sort_dir=desc',
    'sort_key=gateway_ip&sort_dir=asc',
    'sort_key=enable_dhcp&sort_dir=desc&sort_key=name&sort_dir=asc',
  ];
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['other', other],
      ['admin', admin],
    ],
    'subnets',
    subnetFilters,
    subnetSorts,
    [3, 8],
    'subnets ',
  );
});

test('security groups: filters and sorts (pushed down or not) and limits page to the unpaged list', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other, demoProject } = await adminDemoOther(srv.url);
  const quota = await admin.put(`/quotas/${demoProject}`, { quota: { security_group: -1, security_group_rule: -1 } });
  assert.equal(quota.status, 200, JSON.stringify(quota.body));
  for (let i = 0; i < 25; i++) {
    await created(
      demo.post('/security-groups', { security_group: { name: NAMES[i % 7] || 'x', stateful: i % 3 !== 0 } }),
      'security_group',
    );
  }
  for (let i = 0; i < 5; i++)
    await created(other.post('/security-groups', { security_group: { name: NAMES[i] || 'x' } }), 'security_group');
  const unknown = '00000000-0000-4000-8000-000000000000';
  expectError(
    await demo.get(`/security-groups?limit=2&marker=${unknown}`),
    404,
    'SecurityGroupNotFound',
    `Security group ${unknown} does not exist`,
  );
  const filters = ['', 'stateful=false', 'name=a&name=b', 'shared=false'];
  const sorts = ['', 'sort_key=name&sort_dir=desc'];
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['admin', admin],
    ],
    'security-groups',
    filters,
    sorts,
    [4, 9],
  );
});

/**
 * The ids of one page as the service's database query gives it for a member of `project` (admin:
 * every project), or null when the service leaves that query to the in-memory path.
 */
async function databasePage(srv: TestServer, plural: string, project: string, raw: RawQuery, admin = false): Promise<string[] | null> {
  const service = buildServices(srv.config).find((s) => s.spec.plural === plural)!;
  const ctx = authContext({
    userId: 'u',
    userName: 'u',
    projectId: project,
    projectName: 'p',
    roles: admin ? ['admin'] : ['member'],
    expiresAt: '',
  });
  const page = await unitOfWork(srv.db, async (tx) => service.listPage!(tx, ctx, parseListQuery(service.spec, raw)));
  return page && page.items.map((it) => it.id as string);
}

/** How many items `client` lists under `query`: what a filter must match, counted from how the test made them. */
async function counted(client: Api, path: string, query: string): Promise<number> {
  const r = await client.get(`/${path}?${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body[path.split('/').pop()!.replaceAll('-', '_')].length;
}

test('security group rules: visible by project or group owner, filters and sorts (pushed down or not) page to the unpaged list', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other, demoProject, otherProject } = await adminDemoOther(srv.url);
  const quota = await admin.put(`/quotas/${demoProject}`, { quota: { security_group: -1, security_group_rule: -1 } });
  assert.equal(quota.status, 200, JSON.stringify(quota.body));
  const groups: Array<{ id: string }> = [];
  for (let i = 0; i < 3; i++)
    groups.push(await created<{ id: string }>(demo.post('/security-groups', { security_group: { name: `g${i}` } }), 'security_group'));
  const protocols = ['tcp', 'udp', null, 'icmp'];
  for (let i = 0; i < 24; i++) {
    const protocol = protocols[i % protocols.length];
    const ports = protocol === 'tcp' || protocol === 'udp' ? { port_range_min: 20 + (i % 3), port_range_max: 30 + i } : {};
    const ethertype = i % 4 === 3 ? 'IPv6' : 'IPv4';
    // Every rule different (Neutron refuses a duplicate): the prefixes differ where nothing else does.
    const prefix = ethertype === 'IPv6' ? `fd00:${i}::/64` : i % 2 ? '10.0.0.0/8' : `192.168.${i}.0/24`;
    const remote = i % 5 === 0 ? { remote_group_id: groups[(i + 1) % 3].id } : { remote_ip_prefix: prefix };
    const rule = { security_group_id: groups[i % 3].id, direction: i % 2 ? 'ingress' : 'egress', ethertype, protocol, ...ports, ...remote };
    await created(demo.post('/security-group-rules', { security_group_rule: rule }), 'security_group_rule');
  }
  // Rules of another project in demo's group (demo sees them as the group's owner; other as their project).
  const foreign: string[] = [];
  for (let i = 0; i < 3; i++) {
    const rule = {
      security_group_id: groups[0].id,
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 8000 + i,
      port_range_max: 8000 + i,
      project_id: otherProject,
    };
    foreign.push((await created(admin.post('/security-group-rules', { security_group_rule: rule }), 'security_group_rule')).id as string);
  }
  const otherGroup = await created(other.post('/security-groups', { security_group: { name: 'theirs' } }), 'security_group');
  const hidden = await created(
    other.post('/security-group-rules', {
      security_group_rule: { security_group_id: otherGroup.id, direction: 'ingress', protocol: 'udp' },
    }),
    'security_group_rule',
  );
  const demoIds = new Set(ids((await demo.get('/security-group-rules')).body.security_group_rules));
  assert.ok(
    foreign.every((id) => demoIds.has(id)),
    'the rules in demo’s group are demo’s to see',
  );
  assert.ok(!demoIds.has(hidden.id as string), 'another project’s rule in its own group is not');
  const otherIds = new Set(ids((await other.get('/security-group-rules')).body.security_group_rules));
  assert.ok(foreign.every((id) => otherIds.has(id)) && otherIds.has(hidden.id as string));
  for (const id of [hidden.id as string, '00000000-0000-4000-8000-000000000000']) {
    expectError(
      await demo.get(`/security-group-rules?limit=2&marker=${id}`),
      404,
      'SecurityGroupRuleNotFound',
      `Security group rule ${id} does not exist`,
    );
  }
  const filters = [
    '',
    'direction=ingress',
    'protocol=tcp&protocol=udp',
    'port_range_min=21&ethertype=IPv4',
    `security_group_id=${groups[0].id}`,
    'remote_ip_prefix=10.0.0.0/8',
    `remote_group_id=${groups[1].id}`,
    'protocol=',
  ];
  const sorts = ['', 'sort_key=direction&sort_dir=desc&sort_key=ethertype&sort_dir=asc', 'sort_key=protocol&sort_dir=asc'];
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['other', other],
      ['admin', admin],
    ],
    'security-group-rules',
    filters,
    sorts,
    [5, 13],
  );
  // The pages above came from the database where it can (not a sort on a column that may be NULL).
  const page = await databasePage(srv, 'security_group_rules', demoProject, {
    direction: 'ingress',
    protocol: 'udp',
    limit: '4',
    sort_key: 'ethertype',
  });
  assert.equal(page?.length, 4);
  assert.equal(await databasePage(srv, 'security_group_rules', demoProject, { limit: '4', sort_key: 'protocol' }), null);
  // The filters match what they should (the unpaged list takes the same SQL filters as the pages).
  assert.equal(await counted(demo, 'security-group-rules', 'protocol=tcp&protocol=udp'), 15);
  assert.equal(await counted(demo, 'security-group-rules', 'port_range_min=21&ethertype=IPv4'), 4);
  assert.equal(await counted(demo, 'security-group-rules', 'remote_ip_prefix=10.0.0.0/8'), 5);
  assert.equal(await counted(demo, 'security-group-rules', `remote_group_id=${groups[1].id}&direction=egress`), 1);
});

test('routers and floating IPs: filters and sorts (pushed down or not) and limits page to the unpaged list', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other, demoProject, otherProject } = await adminDemoOther(srv.url);
  const quota = await admin.put(`/quotas/${demoProject}`, { quota: { router: -1, floatingip: -1 } });
  assert.equal(quota.status, 200, JSON.stringify(quota.body));
  const provider = await providerNetwork(admin);
  const { net, subnet } = await selfserviceNetwork(demo);
  const routers: Array<{ id: string }> = [];
  for (let i = 0; i < 14; i++) {
    const router = await created(
      demo.post('/routers', { router: { name: NAMES[i % NAMES.length], admin_state_up: i % 3 !== 0 } }),
      'router',
    );
    if (i % 2) assert.equal((await demo.put(`/routers/${router.id}/tags`, { tags: i % 4 === 1 ? ['blue'] : ['blue', 'red'] })).status, 200);
    routers.push(router);
  }
  for (let i = 0; i < 4; i++) await created(other.post('/routers', { router: { name: NAMES[i] } }), 'router');
  const gw = await demo.put(`/routers/${routers[0].id}`, { router: { external_gateway_info: { network_id: provider.id } } });
  assert.equal(gw.status, 200, JSON.stringify(gw.body));
  assert.equal((await demo.put(`/routers/${routers[0].id}/add_router_interface`, { subnet_id: subnet.id })).status, 200);
  const ports: Array<{ id: string }> = [];
  for (let i = 0; i < 6; i++)
    ports.push(await created(demo.post('/ports', { port: { network_id: net.id, device_owner: 'compute:nova' } }), 'port'));
  for (let i = 0; i < 16; i++) {
    const fip = {
      floating_network_id: provider.id,
      description: NAMES[i % 3],
      ...(i % 3 === 0 ? { port_id: ports[i / 3].id } : {}),
    };
    const made = await created(demo.post('/floatingips', { floatingip: fip }), 'floatingip');
    if (i % 4 === 1) assert.equal((await demo.put(`/floatingips/${made.id}/tags`, { tags: ['blue'] })).status, 200);
  }
  for (let i = 0; i < 3; i++) {
    await created(admin.post('/floatingips', { floatingip: { floating_network_id: provider.id, project_id: otherProject } }), 'floatingip');
  }
  const routerFilters = ['', 'admin_state_up=false', 'name=a&name=b', 'tags=blue&not-tags=red', 'status=ACTIVE', 'ha=false'];
  const routerSorts = ['', 'sort_key=name&sort_dir=desc', 'sort_key=admin_state_up&sort_dir=asc&sort_key=name&sort_dir=desc'];
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['admin', admin],
    ],
    'routers',
    routerFilters,
    routerSorts,
    [3, 7],
    'routers ',
  );
  const fipFilters = [
    '',
    `port_id=${ports[0].id}&port_id=${ports[3].id}`,
    `router_id=${routers[0].id}`,
    'fixed_ip_address=',
    'tags=blue',
    'status=DOWN&description=a',
  ];
  const fipSorts = ['', 'sort_key=floating_ip_address&sort_dir=desc', 'sort_key=fixed_ip_address&sort_dir=asc'];
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['other', other],
      ['admin', admin],
    ],
    'floatingips',
    fipFilters,
    fipSorts,
    [4, 9],
    'floating IPs ',
  );
  const unknown = '00000000-0000-4000-8000-000000000000';
  expectError(await demo.get(`/routers?limit=2&marker=${unknown}`), 404, 'RouterNotFound', `Router ${unknown} could not be found`);
  expectError(
    await demo.get(`/floatingips?limit=2&marker=${unknown}`),
    404,
    'FloatingIPNotFound',
    `Floating IP ${unknown} could not be found`,
  );
  // Those pages came from the database, but for a sort on a column that may be NULL.
  assert.equal((await databasePage(srv, 'routers', demoProject, { limit: '5', sort_key: 'name', tags: 'blue' }))?.length, 5);
  assert.equal((await databasePage(srv, 'floatingips', demoProject, { limit: '3', port_id: ports[0].id }))?.length, 1);
  assert.equal(await databasePage(srv, 'floatingips', demoProject, { limit: '3', sort_key: 'fixed_ip_address' }), null);
  assert.equal((await databasePage(srv, 'floatingips', otherProject, { limit: '50' }))?.length, 3);
  // The filters match what they should (the unpaged list takes the same SQL filters as the pages).
  const expected: Array<[string, string, number]> = [
    ['routers', 'admin_state_up=false', 5],
    ['routers', 'name=a&name=b', 4],
    ['routers', 'tags=blue&not-tags=red', 4],
    ['routers', 'status=ACTIVE', 14],
    ['floatingips', `port_id=${ports[0].id}&port_id=${ports[3].id}`, 2],
    ['floatingips', `router_id=${routers[0].id}`, 6],
    ['floatingips', 'fixed_ip_address=', 10],
    ['floatingips', 'tags=blue', 4],
    ['floatingips', 'status=DOWN&description=a', 6],
  ];
  for (const [path, query, n] of expected) assert.equal(await counted(demo, path, query), n, `${path}?${query}`);
});

test('address groups, segments and metering: filters and sorts (pushed down or not) and limits page to the unpaged list', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, other, demoProject } = await adminDemoOther(srv.url);
  for (let i = 0; i < 12; i++) {
    const group = { name: NAMES[i % NAMES.length], description: i % 3 ? 'web' : 'db', addresses: [`10.${i}.0.0/24`] };
    await created(demo.post('/address-groups', { address_group: group }), 'address_group');
  }
  const theirs: Array<{ id: string }> = [];
  for (let i = 0; i < 3; i++) theirs.push(await created(other.post('/address-groups', { address_group: { name: 'a' } }), 'address_group'));
  const rbac = { object_type: 'address_group', object_id: theirs[0].id, target_tenant: demoProject, action: 'access_as_shared' };
  await created(other.post('/rbac-policies', { rbac_policy: rbac }), 'rbac_policy');
  await everyCombinationPagesAgree(
    [
      ['demo', demo],
      ['other', other],
      ['admin', admin],
    ],
    'address-groups',
    ['', 'name=a&name=b', 'description=web', `tenant_id=${demoProject}`],
    ['', 'sort_key=name&sort_dir=desc&sort_key=description&sort_dir=asc'],
    [4, 7],
    'address groups ',
  );
  assert.equal(await counted(demo, 'address-groups', 'name=a'), 3, 'two of its own and the one shared with it');
  assert.equal(await counted(demo, 'address-groups', 'description=web'), 8);

  const networks: Array<{ id: string }> = [];
  for (let i = 0; i < 9; i++) networks.push(await created(demo.post('/networks', { network: { name: `s${i}` } }), 'network'));
  await providerNetwork(admin);
  const segments = (await admin.get('/segments')).body.segments as Array<{ id: string; network_id: string }>;
  for (const [i, segment] of segments.entries()) {
    if (i % 2) assert.equal((await admin.put(`/segments/${segment.id}`, { segment: { name: NAMES[i % 3] || 'x' } })).status, 200);
  }
  await everyCombinationPagesAgree(
    [
      ['admin', admin],
      ['demo', demo],
    ],
    'segments',
    ['', 'network_type=vxlan', `network_id=${networks[2].id}&network_id=${networks[5].id}`, 'physical_network=provider', 'name=a'],
    ['', 'sort_key=network_type&sort_dir=desc', 'sort_key=segmentation_id&sort_dir=asc'],
    [3, 5],
    'segments ',
  );
  assert.equal(await counted(admin, 'segments', 'network_type=vxlan'), 9);
  assert.equal(await counted(admin, 'segments', `network_id=${networks[2].id}&network_id=${networks[5].id}`), 2);
  assert.equal(await counted(admin, 'segments', 'physical_network=provider'), 1);
  assert.deepEqual((await demo.get('/segments?limit=2')).body.segments, []);

  const labels: Array<{ id: string }> = [];
  for (let i = 0; i < 7; i++) {
    const label = { name: NAMES[i % 4], shared: i % 3 === 0 };
    labels.push(await created(admin.post('/metering/metering-labels', { metering_label: label }), 'metering_label'));
  }
  for (let i = 0; i < 14; i++) {
    const prefix = i % 2 ? { remote_ip_prefix: `10.${i}.0.0/24` } : { destination_ip_prefix: `192.0.2.${i}/32` };
    const rule = { metering_label_id: labels[i % 3].id, direction: i % 3 ? 'ingress' : 'egress', excluded: i % 4 === 0, ...prefix };
    await created(admin.post('/metering/metering-label-rules', { metering_label_rule: rule }), 'metering_label_rule');
  }
  await everyCombinationPagesAgree(
    [['admin', admin]],
    'metering/metering-labels',
    ['', 'shared=true', 'name=a&name=b'],
    ['', 'sort_key=name&sort_dir=desc', 'sort_key=shared&sort_dir=asc'],
    [2, 5],
    'metering labels ',
  );
  await everyCombinationPagesAgree(
    [['admin', admin]],
    'metering/metering-label-rules',
    ['', 'direction=ingress&excluded=false', `metering_label_id=${labels[1].id}`, 'remote_ip_prefix=10.3.0.0/24'],
    ['', 'sort_key=direction&sort_dir=desc&sort_key=excluded&sort_dir=asc', 'sort_key=remote_ip_prefix&sort_dir=asc'],
    [3, 6],
    'metering rules ',
  );
  assert.equal(await counted(admin, 'metering/metering-labels', 'shared=true'), 3);
  assert.equal(await counted(admin, 'metering/metering-label-rules', 'direction=ingress&excluded=false'), 7);
  assert.equal(await counted(admin, 'metering/metering-label-rules', `metering_label_id=${labels[1].id}`), 5);
  assert.equal(await counted(admin, 'metering/metering-label-rules', 'remote_ip_prefix=10.3.0.0/24'), 1);
  expectError(await demo.get('/metering/metering-labels?limit=2'), 403, 'PolicyNotAuthorized');
  // The pages came from the database, but for a sort on a column that may be NULL.
  assert.equal((await databasePage(srv, 'address_groups', demoProject, { limit: '2', name: 'a' }))?.length, 2);
  assert.equal((await databasePage(srv, 'segments', demoProject, { limit: '4', network_type: 'vxlan' }, true))?.length, 4);
  assert.equal(await databasePage(srv, 'segments', demoProject, { limit: '4', sort_key: 'segmentation_id' }, true), null);
  assert.equal((await databasePage(srv, 'metering_label_rules', demoProject, { limit: '50', excluded: 'true' }, true))?.length, 4);
});

test('flavors and service profiles: filters and sorts and limits page to the unpaged list; each item keeps its own bindings', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo, demoProject } = await adminDemoOther(srv.url);
  const flavors: Array<{ id: string }> = [];
  for (let i = 0; i < 9; i++) {
    const flavor = { name: NAMES[i % 4], service_type: 'L3_ROUTER_NAT', enabled: i % 3 !== 0, ...(i % 2 ? { description: 'fast' } : {}) };
    flavors.push(await created(admin.post('/flavors', { flavor }), 'flavor'));
  }
  const profiles: Array<{ id: string }> = [];
  for (let i = 0; i < 7; i++) {
    const profile = { metainfo: `{"size": ${i % 3}}`, enabled: i % 2 === 0, ...(i % 3 ? { description: 'big' } : {}) };
    profiles.push(await created(admin.post('/service_profiles', { service_profile: profile }), 'service_profile'));
  }
  // Bindings: flavor i takes profiles i and i+1 (mod 7), so every item has its own set.
  for (let i = 0; i < 5; i++) {
    for (const p of [profiles[i]!, profiles[(i + 1) % 7]!]) {
      const r = await admin.post(`/flavors/${flavors[i]!.id}/service_profiles`, { service_profile: { id: p.id } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  }
  await everyCombinationPagesAgree(
    [
      ['admin', admin],
      ['demo', demo],
    ],
    'flavors',
    ['', 'enabled=false', 'name=a&name=b', 'description=fast'],
    ['', 'sort_key=name&sort_dir=desc&sort_key=enabled&sort_dir=asc'],
    [2, 4],
    'flavors ',
  );
  await everyCombinationPagesAgree(
    [
      ['admin', admin],
      ['demo', demo],
    ],
    'service_profiles',
    ['', 'enabled=true', 'description=big'],
    ['', 'sort_key=metainfo&sort_dir=desc'],
    [3],
    'service profiles ',
  );
  assert.equal(await counted(demo, 'flavors', 'enabled=false'), 3);
  assert.equal(await counted(admin, 'flavors', 'description=fast'), 4);
  assert.equal(await counted(admin, 'service_profiles', 'description=big'), 4);
  assert.equal(await counted(demo, 'service_profiles', ''), 0);
  const listed = new Map(
    ((await admin.get('/flavors')).body.flavors as Array<{ id: string; service_profiles: string[] }>).map((f) => [
      f.id,
      f.service_profiles,
    ]),
  );
  for (let i = 0; i < 9; i++) {
    const mine = i < 5 ? [profiles[i]!.id, profiles[(i + 1) % 7]!.id].sort() : [];
    assert.deepEqual(listed.get(flavors[i]!.id), mine, `flavor ${i}'s profiles`);
  }
  const profile1 = ((await admin.get(`/service_profiles?id=${profiles[1]!.id}`)).body.service_profiles as Array<{ flavors: string[] }>)[0]!;
  assert.deepEqual(profile1.flavors, [flavors[0]!.id, flavors[1]!.id].sort());
  assert.equal((await databasePage(srv, 'flavors', demoProject, { limit: '2', enabled: 'false' }))?.length, 2);
  assert.equal((await databasePage(srv, 'service_profiles', demoProject, { limit: '2' }, true))?.length, 2);
});

test('a list longer than one slice (rendered a slice per turn) is the same JSON as its pages, with fields and links', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const { admin, demo } = await adminDemoOther(srv.url);
  const net = await created(demo.post('/networks', { network: { name: 'long' } }), 'network');
  await created(demo.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.50.0.0/22' } }), 'subnet');
  const demoProject = net.project_id as string;
  assert.equal((await admin.put(`/quotas/${demoProject}`, { quota: { port: -1 } })).status, 200);
  for (let i = 0; i < 700; i += 100) {
    const r = await demo.post('/ports', {
      ports: Array.from({ length: 100 }, (_, j) => ({ port: { network_id: net.id, name: `p${i + j}`, tags: ['t'] } })),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  for (const [who, client] of [
    ['demo', demo],
    ['admin', admin],
  ] as const) {
    const whole = await client.get(`/ports?network_id=${net.id}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.body.ports.length, 700, who);
    assert.equal(whole.body.ports_links, undefined, `${who}: no links without a limit`);
    // Pages of 100 are rendered whole (not in parts): the parts must join to exactly the same items.
    const pages = await walk(client, `/ports?network_id=${net.id}&limit=100`, 'next');
    assert.deepEqual(whole.body.ports, pages.flat(), `${who}: the long list equals its pages`);
    const some = await client.get(`/ports?network_id=${net.id}&fields=id&fields=name&sort_key=name&sort_dir=asc`);
    assert.deepEqual(
      some.body.ports,
      [...whole.body.ports].sort((a, b) => (a.name < b.name ? -1 : 1)).map((p) => ({ id: p.id, name: p.name })),
      `${who}: fields and sort`,
    );
    // `fields` selects only the columns it needs: pages sorted by a column that is not among the
    // fields, and attributes stored as JSON (one of them admin-only) read on their own.
    const byMacDesc = [...whole.body.ports].sort((a, b) => (a.mac_address < b.mac_address ? 1 : -1));
    const macPages = await walk(client, `/ports?network_id=${net.id}&fields=id&sort_key=mac_address&sort_dir=desc&limit=300`, 'next');
    assert.deepEqual(
      macPages.flat(),
      byMacDesc.map((p) => ({ id: p.id })),
      `${who}: fields=id, pages by mac_address`,
    );
    const wanted = ['allowed_address_pairs', 'binding:profile', 'id', 'extra_dhcp_opts'];
    const json = await client.get(`/ports?network_id=${net.id}&${wanted.map((f) => `fields=${f}`).join('&')}`);
    assert.deepEqual(
      json.body.ports,
      whole.body.ports.map((p: Record<string, unknown>) => Object.fromEntries(wanted.filter((f) => f in p).map((f) => [f, p[f]]))),
      `${who}: JSON attributes alone`,
    );
    assert.equal('binding:profile' in json.body.ports[0], who === 'admin');
  }
  // A page larger than one slice is rendered in slices too, with its links after the items.
  const big = await demo.get(`/ports?network_id=${net.id}&limit=400`);
  assert.equal(big.status, 200);
  assert.equal(big.body.ports.length, 400);
  // Rendered a slice per turn, sent in one write with its length.
  assert.equal(big.headers.get('transfer-encoding'), null);
  assert.equal(Number(big.headers.get('content-length')), Buffer.byteLength(JSON.stringify(big.body)));
  assert.deepEqual(
    big.body.ports_links.map((l: { rel: string }) => l.rel),
    ['next'],
  );
  const rest = await demo.get(big.body.ports_links[0].href.slice(big.body.ports_links[0].href.indexOf('/v2.0') + 5));
  assert.equal(rest.body.ports.length, 300);
  assert.equal(new Set([...big.body.ports, ...rest.body.ports].map((p) => p.id)).size, 700);
});
