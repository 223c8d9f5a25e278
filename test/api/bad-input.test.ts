// Hostile and malformed input on both APIs: always a 4xx in the API's own error shape, never a 5xx,
// never a silent change (the change feed's head stays where it was).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { issueToken, request, type Api } from '../helpers/client.ts';
import { adminDemoOther, expectError, feedHead } from '../helpers/networking.ts';

let srv: TestServer;
let admin: Api;
let demo: Api;
let adminToken: string;
let demoToken: string;
let networkId: string;

before(async () => {
  srv = await startTestServer();
  ({ admin, demo, adminToken } = await adminDemoOther(srv.url));
  demoToken = await issueToken(srv.url, 'demo', 'demo-pw', 'demo');
  networkId = (await demo.post('/networks', { network: { name: 'n' } })).body.network.id;
});
after(() => srv.close());

/** A PUT of raw bytes (not JSON-encoded by the client). */
async function rawPut(path: string, bytes: Buffer) {
  const res = await fetch(`${srv.url}/v2.0${path}`, {
    method: 'PUT',
    headers: { 'x-auth-token': demoToken, 'content-type': 'application/json' },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, body: await res.json() };
}

/** Asserts the request is refused with a NeutronError and left the store alone. */
async function refused(send: () => Promise<{ status: number; body: unknown }>, status: number, type: string, message?: string | RegExp) {
  const head = await feedHead(admin);
  expectError(await send(), status, type, message);
  assert.equal(await feedHead(admin), head, 'a refused request changed the store');
}

test('deep nesting is refused before any work', async () => {
  for (const body of ['['.repeat(50_000), '{"network":'.repeat(5_000), `{"network":{"name":${'['.repeat(40)}1${']'.repeat(40)}}}`]) {
    await refused(() => demo.post('/networks', body), 400, 'HTTPBadRequest', /^Malformed request body: nested deeper than 32 levels$/);
  }
  // Brackets inside strings are text, not nesting.
  const r = await demo.post('/networks', { network: { name: '['.repeat(200) } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.network.name, '['.repeat(200));
});

test('invalid Unicode and out-of-range numbers are refused on both APIs, valid astral text is stored exactly', async () => {
  await refused(() => demo.post('/networks', '{"network":{"name":"\\ud800x"}}'), 400, 'HTTPBadRequest', /invalid Unicode/);
  await refused(() => demo.post('/networks', '{"network":{"\\udc00":"x"}}'), 400, 'HTTPBadRequest', /invalid Unicode/);
  await refused(
    () => rawPut(`/networks/${networkId}`, Buffer.from('{"network":{"name":"\xff"}}', 'latin1')),
    400,
    'HTTPBadRequest',
    /invalid UTF-8/,
  );
  await refused(
    () => admin.post(`/ports`, `{"port":{"network_id":"${networkId}","binding:profile":{"a":1e400}}}`),
    400,
    'HTTPBadRequest',
    'Malformed request body: number out of range',
  );
  await refused(
    () => demo.post('/networks', '{"network":{"mtu":-1e999}}'),
    400,
    'HTTPBadRequest',
    'Malformed request body: number out of range',
  );
  const id = await request(`${srv.url}/identity/v3/projects`, 'POST', adminToken, '{"project":{"name":"p\\udfff","domain_id":"default"}}');
  assert.equal(id.status, 400);
  assert.equal(id.body.error.code, 400);
  assert.match(id.body.error.message, /invalid Unicode/);
  const projects = await request(`${srv.url}/identity/v3/projects`, 'GET', adminToken);
  assert.ok(!projects.body.projects.some((p: { name: string }) => p.name.startsWith('p\ufffd')));

  const astral = 'net-\u{1F600}-\ud83d\ude00';
  const ok = await demo.post('/networks', { network: { name: astral } });
  assert.equal(ok.status, 201);
  assert.equal((await demo.get(`/networks/${ok.body.network.id}`)).body.network.name, astral);
});

test('identity bodies: unknown properties and resource options are refused, not dropped', async () => {
  const projects = `${srv.url}/identity/v3/projects`;
  const count = async () => (await request(projects, 'GET', adminToken)).body.projects.length;
  const before = await count();
  for (const body of [
    '{"project":{"name":"x1","colour":"red"}}',
    '{"project":{"name":"x2","__proto__":{"enabled":false}}}',
    '{"project":{"name":"x3","options":{"immutable":true}}}',
    '{"user":{"name":"x4","extra":1}}',
    '{"role":{"name":"x5","constructor":1}}',
  ]) {
    const url = body.startsWith('{"project"') ? projects : `${srv.url}/identity/v3/${body.startsWith('{"user"') ? 'users' : 'roles'}`;
    const r = await request(url, 'POST', adminToken, body);
    assert.equal(r.status, 400, `${body}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.title, 'Bad Request');
  }
  assert.equal(await count(), before);
  // What clients send by default (OSC's empty options) is still fine.
  const ok = await request(projects, 'POST', adminToken, { project: { name: 'x6', options: {}, tags: [] } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

test('__proto__, constructor and toString are unknown attributes and unknown filters', async () => {
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    await refused(
      () => demo.post('/networks', `{"network":{"${key}":{"admin":true}}}`),
      400,
      'HTTPBadRequest',
      `Unrecognized attribute(s) '${key}'`,
    );
    await refused(
      () => demo.put(`/networks/${networkId}`, `{"network":{"${key}":1}}`),
      400,
      'HTTPBadRequest',
      `Unrecognized attribute(s) '${key}'`,
    );
    expectError(await demo.get(`/networks?${key}=1`), 400, 'HTTPBadRequest', `['${key}'] is invalid attribute for filtering`);
    expectError(await demo.get(`/ports?sort_key=${key}`), 400, 'HTTPBadRequest', `['${key}'] is invalid attribute for sort_keys`);
  }
  await refused(
    () => demo.post('/networks', '{"__proto__":{"network":{"name":"x"}}}'),
    400,
    'HTTPBadRequest',
    "Unable to find 'network' in request body",
  );
  await refused(
    () => demo.post('/networks', '{"__proto__":[{"name":"x"}]}'),
    400,
    'HTTPBadRequest',
    "Unable to find 'network' in request body",
  );
  // An unknown field to show is simply not there, and nothing leaks from the prototype.
  const f = await demo.get(`/networks/${networkId}?fields=__proto__&fields=constructor&fields=name`);
  assert.equal(f.status, 200);
  assert.deepEqual(Object.keys(f.body.network), ['name']);
});

test('an empty bulk request is refused for every bulk-capable resource', async () => {
  for (const [path, plural] of [
    ['/networks', 'networks'],
    ['/subnets', 'subnets'],
    ['/ports', 'ports'],
    ['/routers', 'routers'],
    ['/floatingips', 'floatingips'],
    ['/security-groups', 'security_groups'],
    ['/security-group-rules', 'security_group_rules'],
  ]) {
    for (const empty of [[], {}, null, 0, '']) {
      await refused(() => demo.post(path, { [plural]: empty }), 400, 'HTTPBadRequest', 'Resources required');
    }
    await refused(() => demo.post(path, { [plural]: 'abc' }), 400, 'HTTPBadRequest', 'Body contains invalid data');
    await refused(() => demo.post(path, { [plural]: [null] }), 400, 'HTTPBadRequest', 'Body contains invalid data');
    await refused(
      () => demo.post(path, { [plural]: ['abc'] }),
      400,
      'HTTPBadRequest',
      `Object '${plural.slice(0, -1)}' contains invalid data`,
    );
  }
  // Items may be wrapped, as Neutron allows.
  const r = await demo.post('/networks', { networks: [{ network: { name: 'w1' } }, { name: 'w2' }] });
  assert.equal(r.status, 201);
  assert.deepEqual(
    r.body.networks.map((n: { name: string }) => n.name),
    ['w1', 'w2'],
  );
});

test("malformed body shapes get Neutron's messages on create and update", async () => {
  const cases: Array<[string, string]> = [
    ['{}', 'Resource body required'],
    ['[]', 'Resource body required'],
    ['0', 'Resource body required'],
    ['""', 'Resource body required'],
    ['[1]', 'Body contains invalid data'],
    ['"text"', 'Body contains invalid data'],
    ['7', 'Body contains invalid data'],
    ['{"network":null}', "Unable to find 'network' in request body"],
    ['{"net":{}}', "Unable to find 'network' in request body"],
    ['{"network":[]}', "Object 'network' contains invalid data"],
    ['{"network":"x"}', "Object 'network' contains invalid data"],
  ];
  for (const [text, message] of cases) {
    await refused(() => demo.post('/networks', text), 400, 'HTTPBadRequest', message);
    await refused(() => demo.put(`/networks/${networkId}`, text), 400, 'HTTPBadRequest', message);
  }
});

test('echoed values are capped', async () => {
  const long = 'y'.repeat(100_000);
  for (const send of [
    () => demo.post('/networks', { network: { name: long } }),
    () => demo.post('/networks', { network: { [long]: 1 } }),
    () => demo.post('/ports', { port: { network_id: networkId, mac_address: long } }),
    () => demo.post('/subnets', { subnet: { network_id: networkId, ip_version: 4, cidr: long } }),
  ]) {
    const r = await send();
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    const message: string = r.body.NeutronError.message;
    assert.ok(message.length < 1100, `message of ${message.length} characters`);
    assert.match(message, /y{200}\.\.\./);
  }
  const q = await demo.get(`/networks?${'z'.repeat(8000)}=1`);
  expectError(q, 400, 'HTTPBadRequest');
  assert.ok(q.body.NeutronError.message.length < 300);
});

test('extra_dhcp_opts: validated as Neutron does, merged on update', async () => {
  for (const bad of [
    true,
    5,
    'x',
    { opt_name: 'a', opt_value: 'b' },
    [{ opt_name: 'a' }],
    [{ opt_name: 'a', opt_value: 'b', extra: 1 }],
    [{ opt_name: '', opt_value: 'b' }],
    [{ opt_name: 'a\nb', opt_value: 'c' }],
    [{ opt_name: 'a', opt_value: 'b', ip_version: 5 }],
    [{ opt_name: 'a', opt_value: '' }],
    [{ opt_name: 'a', opt_value: 'x'.repeat(256) }],
    [{ opt_name: 'a', opt_value: 1 }],
    [
      { opt_name: 'a', opt_value: 'b' },
      { opt_name: 'a', opt_value: 'b' },
    ],
    [1e300],
    [[]],
  ]) {
    await refused(
      () => demo.post('/ports', { port: { network_id: networkId, extra_dhcp_opts: bad } }),
      400,
      'InvalidInput',
      /^Invalid input for operation: /,
    );
  }
  const port = (
    await demo.post('/ports', {
      port: {
        network_id: networkId,
        extra_dhcp_opts: [
          { opt_name: 'tftp-server', opt_value: '10.0.0.1' },
          { opt_name: 'router', opt_value: '' },
          { opt_name: 'bootfile-name', opt_value: 'pxe.0', ip_version: '6' },
          { opt_name: 'skipped', opt_value: null },
        ],
      },
    })
  ).body.port;
  assert.deepEqual(port.extra_dhcp_opts, [
    { opt_name: 'tftp-server', opt_value: '10.0.0.1', ip_version: 4 },
    { opt_name: 'router', opt_value: '', ip_version: 4 },
    { opt_name: 'bootfile-name', opt_value: 'pxe.0', ip_version: 6 },
  ]);
  const up = await demo.put(`/ports/${port.id}`, {
    port: {
      extra_dhcp_opts: [
        { opt_name: 'tftp-server', opt_value: '10.0.0.2' },
        { opt_name: 'router', opt_value: null },
        { opt_name: 'mtu', opt_value: '1400' },
      ],
    },
  });
  assert.equal(up.status, 200);
  assert.deepEqual(up.body.port.extra_dhcp_opts, [
    { opt_name: 'tftp-server', opt_value: '10.0.0.2', ip_version: 4 },
    { opt_name: 'bootfile-name', opt_value: 'pxe.0', ip_version: 6 },
    { opt_name: 'mtu', opt_value: '1400', ip_version: 4 },
  ]);
  await refused(() => demo.put(`/ports/${port.id}`, { port: { extra_dhcp_opts: { opt_name: 'a' } } }), 400, 'InvalidInput');
});

test('list attributes of ports take lists, as Neutron does (no single value wrapped into a list)', async () => {
  const group = (await demo.get('/security-groups')).body.security_groups[0].id;
  const port = { network_id: networkId };
  await refused(
    () => demo.post('/ports', { port: { ...port, security_groups: group } }),
    400,
    'HTTPBadRequest',
    `Invalid input for security_groups. Reason: '${group}' is not a list.`,
  );
  await refused(
    () => demo.post('/ports', { port: { ...port, fixed_ips: { ip_address: '10.0.0.5' } } }),
    400,
    'HTTPBadRequest',
    /^Invalid input for fixed_ips. Reason: Invalid data format for fixed IP/,
  );
  await refused(() => demo.post('/ports', { port: { ...port, fixed_ips: null } }), 400, 'HTTPBadRequest', /^Invalid input for fixed_ips/);
  await refused(
    () => demo.post('/ports', { port: { ...port, allowed_address_pairs: { ip_address: '10.0.0.9' } } }),
    400,
    'HTTPBadRequest',
    'Allowed address pairs must be a list.',
  );
  // null is the empty list.
  const r = await demo.post('/ports', { port: { ...port, security_groups: null, allowed_address_pairs: null } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual([r.body.port.security_groups, r.body.port.allowed_address_pairs], [[], []]);
});

test('availability_zone_hints, subnetpool_id and IPv6 modes take only what Neutron takes', async () => {
  for (const bad of [true, 1e300, { a: 1 }, 'nova', [1], ['a', 'a']]) {
    await refused(
      () => demo.post('/networks', { network: { availability_zone_hints: bad } }),
      400,
      'HTTPBadRequest',
      /^Invalid input for availability_zone_hints/,
    );
  }
  await refused(
    () => demo.post('/networks', { network: { availability_zone_hints: Array.from({ length: 40 }, (_, i) => `zone-${i}`) } }),
    400,
    'InvalidInput',
    'Invalid input for operation: Too many availability_zone_hints specified.',
  );
  await refused(
    () => demo.post('/networks', { network: { availability_zone_hints: ['nova'] } }),
    404,
    'AvailabilityZoneNotFound',
    'AvailabilityZone nova could not be found.',
  );
  await refused(
    () => demo.put(`/networks/${networkId}`, { network: { availability_zone_hints: [] } }),
    400,
    'HTTPBadRequest',
    'Cannot update read-only attribute availability_zone_hints',
  );
  assert.equal((await demo.post('/networks', { network: { availability_zone_hints: [] } })).status, 201);

  const subnet = { network_id: networkId, ip_version: 4, cidr: '10.9.0.0/24' };
  for (const bad of [true, 12345678901234567890, { id: 'x' }, 'not-a-uuid', []]) {
    await refused(
      () => demo.post('/subnets', { subnet: { ...subnet, subnetpool_id: bad } }),
      400,
      'HTTPBadRequest',
      /^Invalid input for subnetpool_id/,
    );
  }
  await refused(
    () => demo.post('/subnets', { subnet: { ...subnet, subnetpool_id: '5d8d2bd2-8c7c-4a8c-9b0e-0c8c0b9c8f11' } }),
    404,
    'SubnetPoolNotFound',
    'Subnet pool 5d8d2bd2-8c7c-4a8c-9b0e-0c8c0b9c8f11 could not be found.',
  );
  for (const bad of [true, 'bogus', { a: 1 }, 6]) {
    await refused(
      () => demo.post('/subnets', { subnet: { ...subnet, ipv6_ra_mode: bad } }),
      400,
      'HTTPBadRequest',
      /^Invalid input for ipv6_ra_mode/,
    );
    await refused(
      () => demo.post('/subnets', { subnet: { ...subnet, ipv6_address_mode: bad } }),
      400,
      'HTTPBadRequest',
      /^Invalid input for ipv6_address_mode/,
    );
  }
  const ok = await demo.post('/subnets', { subnet: { ...subnet, subnetpool_id: null, ipv6_ra_mode: null } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.subnet.subnetpool_id, null);
});

test('framework errors carry the API error body', async () => {
  expectError(await demo.get(`/networks/${'a'.repeat(150)}`), 414, 'HTTPRequestURITooLong');
  expectError(await demo.get('/networks/%zz'), 400, 'HTTPBadRequest');
  expectError(await demo.get('/no-such-collection'), 404, 'HTTPNotFound');
  expectError(await request(`${srv.url}/v2.0/networks`, 'PATCH', null), 404, 'HTTPNotFound');
  const id = await request(`${srv.url}/identity/v3/projects/${'a'.repeat(150)}`, 'GET', adminToken);
  assert.equal(id.status, 414);
  assert.deepEqual(Object.keys(id.body.error).sort(), ['code', 'message', 'title']);

  // Headers past the server's limit never reach Fastify: the socket-level answer is a NeutronError too.
  const raw = await new Promise<string>((resolve, reject) => {
    const { port } = new URL(srv.url);
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', (e) => (text ? resolve(text) : reject(e)));
  });
  assert.match(raw, /^HTTP\/1\.1 431 /);
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  assert.equal(body.NeutronError.type, 'HTTPRequestHeaderFieldsTooLarge');
});

test("a request arriving while the server closes gets a NeutronError 503, not the framework's body", async () => {
  // Long-polls end at once on close, so a login held by the per-user back-off keeps the connection busy instead.
  const closingServer = await startTestServer({ failureBackoffInitialMs: 1500 });
  const token = await issueToken(closingServer.url, 'admin', ADMIN_PASSWORD, 'admin');
  const login = (password: string) =>
    JSON.stringify({
      auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password, domain: { name: 'Default' } } } } },
    });
  assert.equal((await fetch(`${closingServer.url}/identity/v3/auth/tokens`, { method: 'POST', body: login('wrong') })).status, 401);
  const socket = connect(Number(new URL(closingServer.url).port), '127.0.0.1');
  let raw = '';
  socket.on('data', (d) => (raw += d.toString()));
  const ended = new Promise((resolve) => socket.on('close', resolve));
  const body = login(ADMIN_PASSWORD);
  socket.write(
    `POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const closing = closingServer.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.write(`GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${token}\r\n\r\n`);
  await ended;
  await closing;
  assert.match(raw, /^HTTP\/1\.1 201 /, 'the login in flight finishes');
  const last = raw.slice(raw.lastIndexOf('HTTP/1.1 '));
  assert.match(last, /^HTTP\/1\.1 503 /);
  assert.equal(JSON.parse(last.slice(last.indexOf('\r\n\r\n') + 4)).NeutronError.type, 'HTTPServiceUnavailable');
});
