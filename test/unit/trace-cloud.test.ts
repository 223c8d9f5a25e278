// Finding the cloud as openstacksdk does (clouds.yaml search order, secure.yaml, OS_* variables),
// the Keystone v3 request it makes, and the network endpoint it takes from the catalog.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudConfigError, identityV3, networkEndpoint } from '../../src/client/keystone.ts';
import { configCandidates, keystoneAuthBody, resolveCloud, type CloudLookup } from '../../src/trace/read/cloud.ts';

let root = '';
let cwd = '';
let home = '';
let site = '';

const cloudsYaml = (name: string, authUrl: string, extra = '') => `clouds:
  ${name}:
    auth:
      auth_url: ${authUrl}
      username: admin
      password: pw-${name}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
${extra}`;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'neutrino-clouds-'));
  cwd = join(root, 'cwd');
  home = join(root, 'home');
  site = join(root, 'etc-openstack');
  for (const d of [cwd, join(home, '.config', 'openstack'), site]) mkdirSync(d, { recursive: true });
});
after(() => rmSync(root, { recursive: true, force: true }));

const lookup = (env: NodeJS.ProcessEnv, extra: Partial<CloudLookup> = {}): CloudLookup => ({ env, cwd, home, siteDir: site, ...extra });

test('search order: OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack; the first found wins', () => {
  assert.deepEqual(configCandidates('clouds', lookup({ OS_CLIENT_CONFIG_FILE: '/x/my.yaml' })), [
    '/x/my.yaml',
    join(cwd, 'clouds.yaml'),
    join(cwd, 'clouds.yml'),
    join(home, '.config/openstack/clouds.yaml'),
    join(home, '.config/openstack/clouds.yml'),
    join(site, 'clouds.yaml'),
    join(site, 'clouds.yml'),
  ]);
  assert.equal(configCandidates('clouds', lookup({ XDG_CONFIG_HOME: '/xdg' }))[2], '/xdg/openstack/clouds.yaml');

  writeFileSync(join(site, 'clouds.yaml'), cloudsYaml('c1', 'http://site:5000/v3'));
  assert.equal(resolveCloud(lookup({ OS_CLOUD: 'c1' })).authUrl, 'http://site:5000/v3');
  writeFileSync(join(home, '.config/openstack/clouds.yaml'), cloudsYaml('c1', 'http://home:5000/v3'));
  assert.equal(resolveCloud(lookup({ OS_CLOUD: 'c1' })).source, join(home, '.config/openstack/clouds.yaml'));
  writeFileSync(join(cwd, 'clouds.yaml'), cloudsYaml('c1', 'http://cwd:5000/v3'));
  const c = resolveCloud(lookup({ OS_CLOUD: 'c1' }));
  assert.deepEqual(c, {
    name: 'c1',
    source: join(cwd, 'clouds.yaml'),
    authUrl: 'http://cwd:5000/v3',
    authType: 'password',
    interface: 'public',
    verify: true,
    username: 'admin',
    password: 'pw-c1',
    userDomainName: 'Default',
    projectName: 'admin',
    projectDomainName: 'Default',
    regionName: 'RegionOne',
  });
  const explicit = join(root, 'explicit.yaml');
  writeFileSync(explicit, cloudsYaml('c1', 'http://explicit/identity/v3'));
  assert.equal(resolveCloud(lookup({ OS_CLOUD: 'c1', OS_CLIENT_CONFIG_FILE: explicit })).authUrl, 'http://explicit/identity/v3');
  // The argument names the cloud too, ahead of OS_CLOUD.
  assert.equal(resolveCloud(lookup({ OS_CLOUD: 'other', OS_CLIENT_CONFIG_FILE: explicit }, { cloud: 'c1' })).name, 'c1');
});

test('secure.yaml supplies secrets; OS_PASSWORD fills a password clouds.yaml leaves out; interface, region, TLS and endpoint override', () => {
  const dir = join(root, 'secure-case');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'clouds.yaml'),
    `clouds:
  prod:
    auth:
      auth_url: https://keystone.example.org:5000
      username: tracer
      project_id: 0123abcd
      user_domain_id: default
    region_name: RegionTwo
    interface: internal
    cacert: /etc/ssl/ca.pem
    network_endpoint_override: http://neutron.example.org:9696/
  nopw:
    auth:
      auth_url: http://k/v3
      username: u
      project_name: p
    insecure: true
`,
  );
  assert.equal(resolveCloud(lookup({ OS_CLOUD: 'nopw', OS_PASSWORD: 'from-env' }, { cwd: dir })).password, 'from-env');
  assert.equal(resolveCloud(lookup({ OS_CLOUD: 'nopw' }, { cwd: dir })).verify, false);
  writeFileSync(join(dir, 'secure.yaml'), 'clouds:\n  prod:\n    auth:\n      password: s3cret\n');
  const c = resolveCloud(lookup({ OS_CLOUD: 'prod', OS_PASSWORD: 'ignored' }, { cwd: dir }));
  assert.equal(c.password, 's3cret');
  assert.equal(c.userDomainId, 'default');
  assert.equal(c.projectId, '0123abcd');
  assert.equal(c.interface, 'internal');
  assert.equal(c.regionName, 'RegionTwo');
  assert.equal(c.cacert, '/etc/ssl/ca.pem');
  assert.equal(c.networkEndpoint, 'http://neutron.example.org:9696/');
  assert.equal(c.verify, true);
});

test('without OS_CLOUD the OS_* variables make the cloud (openstacksdk calls it envvars)', () => {
  const c = resolveCloud(
    lookup({
      OS_AUTH_URL: 'http://10.0.0.11:5000/v3',
      OS_USERNAME: 'admin',
      OS_PASSWORD: 'pw',
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_ID: 'default',
      OS_REGION_NAME: 'RegionOne',
      OS_INTERFACE: 'internal',
      OS_IDENTITY_API_VERSION: '3',
      PATH: '/usr/bin',
    }),
  );
  assert.deepEqual(c, {
    name: 'envvars',
    source: 'environment',
    authUrl: 'http://10.0.0.11:5000/v3',
    authType: 'password',
    interface: 'internal',
    verify: true,
    username: 'admin',
    password: 'pw',
    userDomainName: 'Default',
    projectName: 'admin',
    projectDomainId: 'default',
    regionName: 'RegionOne',
  });
  assert.equal(resolveCloud(lookup({ OS_AUTH_URL: 'http://k/v3', OS_ENDPOINT_TYPE: 'internalURL' })).interface, 'internal');
});

test('clear errors: no cloud, unknown cloud (with the names it has), no file, bad YAML, unsupported auth', () => {
  const err = (env: NodeJS.ProcessEnv, re: RegExp, extra: Partial<CloudLookup> = {}) =>
    assert.throws(
      () => resolveCloud(lookup(env, extra)),
      (e: unknown) => e instanceof CloudConfigError && re.test(e.message),
      re.source,
    );
  err({}, /no cloud to trace: set OS_CLOUD .* or OS_AUTH_URL/);
  const own = join(root, 'clear-errors', 'cwd'); // a clouds.yaml of this test's own, with cloud c1
  mkdirSync(own, { recursive: true });
  writeFileSync(join(own, 'clouds.yaml'), cloudsYaml('c1', 'http://cwd:5000/v3'));
  err({ OS_CLOUD: 'nope' }, /cloud 'nope' is not in .*cwd\/clouds\.yaml \(it has: c1\)/, { cwd: own });
  const empty = join(root, 'empty');
  mkdirSync(empty);
  err({ OS_CLOUD: 'c1' }, /no clouds.yaml found \(looked for .*empty\/clouds\.yaml/, { cwd: empty, home: empty, siteDir: empty });
  const bad = join(root, 'bad.yaml');
  writeFileSync(bad, 'clouds: [unclosed\n');
  err({ OS_CLOUD: 'c1', OS_CLIENT_CONFIG_FILE: bad }, /bad\.yaml: not readable YAML/);
  writeFileSync(bad, cloudsYaml('t', 'http://k/v3', '    auth_type: token\n'));
  err({ OS_CLOUD: 't', OS_CLIENT_CONFIG_FILE: bad }, /auth_type 'token' is not supported/);
  writeFileSync(bad, 'clouds:\n  t:\n    region_name: R\n');
  err({ OS_CLOUD: 't', OS_CLIENT_CONFIG_FILE: bad }, /cloud 't' .* has no auth_url/);
});

test('Keystone v3: the token request, user and project by name (domain Default unless given) or by id; application credentials', () => {
  const base = resolveCloud(lookup({ OS_AUTH_URL: 'http://k', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 'demo' }));
  assert.equal(identityV3(base.authUrl), 'http://k/v3');
  assert.equal(identityV3('http://k:9696/identity/v3/'), 'http://k:9696/identity/v3');
  assert.deepEqual(keystoneAuthBody(base), {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'u', password: 'p', domain: { name: 'Default' } } } },
      scope: { project: { name: 'demo', domain: { name: 'Default' } } },
    },
  });
  assert.deepEqual(keystoneAuthBody({ ...base, userId: 'uid', projectId: 'pid', projectName: undefined }), {
    auth: { identity: { methods: ['password'], password: { user: { id: 'uid', password: 'p' } } }, scope: { project: { id: 'pid' } } },
  });
  assert.deepEqual(keystoneAuthBody({ ...base, userDomainId: 'd1', projectDomainName: 'D2' }), {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'u', password: 'p', domain: { id: 'd1' } } } },
      scope: { project: { name: 'demo', domain: { name: 'D2' } } },
    },
  });
  const appcred = resolveCloud(
    lookup({
      OS_AUTH_URL: 'http://k/v3',
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_APPLICATION_CREDENTIAL_ID: 'ac',
      OS_APPLICATION_CREDENTIAL_SECRET: 'sec',
    }),
  );
  assert.deepEqual(keystoneAuthBody(appcred), {
    auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac', secret: 'sec' } } },
  });
  assert.throws(() => keystoneAuthBody({ ...base, password: undefined }), /has no password/);
  assert.throws(() => keystoneAuthBody({ ...base, projectName: undefined }), /project-scoped token/);
});

test('the network endpoint: service type network, the interface asked for, the region when set; a trailing /v2.0 is cut', () => {
  const ep = (iface: string, region: string, url: string) => ({ interface: iface, region, region_id: region, url });
  const catalog = [
    { type: 'identity', endpoints: [ep('public', 'RegionOne', 'http://k/v3')] },
    {
      type: 'network',
      endpoints: [
        ep('admin', 'RegionOne', 'http://admin:9696'),
        ep('internal', 'RegionOne', 'http://internal:9696/'),
        ep('public', 'RegionOne', 'https://net.example.org/networking/'),
        ep('public', 'RegionTwo', 'https://net2.example.org:9696/v2.0'),
      ],
    },
  ];
  assert.equal(networkEndpoint(catalog, 'public'), 'https://net.example.org/networking');
  assert.equal(networkEndpoint(catalog, 'internal'), 'http://internal:9696');
  assert.equal(networkEndpoint(catalog, 'public', 'RegionTwo'), 'https://net2.example.org:9696');
  assert.throws(
    () => networkEndpoint(catalog, 'public', 'RegionThree'),
    /no public network endpoint in region RegionThree \(it has admin@RegionOne/,
  );
  assert.throws(() => networkEndpoint([catalog[0]], 'public'), /no 'network' service/);
  assert.throws(() => networkEndpoint(undefined, 'public'), /no 'network' service/);
});
