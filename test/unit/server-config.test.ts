// The server's settings: Neutron option names in an INI file, flags over the file, clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../../src/server-config.ts';

/** Runs `body` with a loader that writes neutron.conf (at `file`, in a temp dir) of the given lines and loads it. */
function withConfigFile(body: (load: (...lines: string[]) => ReturnType<typeof loadServerConfig>, file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  const file = join(dir, 'neutron.conf');
  try {
    body((...lines) => {
      writeFileSync(file, lines.join('\n') + '\n');
      return loadServerConfig({ config: file });
    }, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('agent_down_time: default 75, [DEFAULT] agent_down_time, --agent-down-time over the file, bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    assert.equal(loadServerConfig({}).agentDownTime, 75);
    const file = join(dir, 'neutron.conf');
    writeFileSync(file, '[DEFAULT]\nagent_down_time = 20\n[token]\nexpiration = 600\n');
    const fromFile = loadServerConfig({ config: file });
    assert.equal(fromFile.agentDownTime, 20);
    assert.equal(fromFile.tokenTtlSeconds, 600);
    assert.equal(loadServerConfig({ config: file, agentDownTime: '9' }).agentDownTime, 9);
    assert.throws(() => loadServerConfig({ agentDownTime: 'soon' }), /--agent-down-time/);
    writeFileSync(file, '[DEFAULT]\nagent_down_time = -1\n');
    assert.throws(() => loadServerConfig({ config: file }), /agent_down_time/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('[identity] lockout and back-off: defaults, the file, flags over the file, bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    const defaults = loadServerConfig({});
    assert.equal(defaults.lockoutFailureAttempts, null, 'no lockout by default, as in Keystone');
    assert.equal(defaults.lockoutDuration, 1800);
    assert.equal(defaults.failureBackoffMax, 5);
    const file = join(dir, 'neutron.conf');
    writeFileSync(file, '[identity]\nlockout_failure_attempts = 5\nlockout_duration = 300\nfailure_backoff_max = 0\n');
    const fromFile = loadServerConfig({ config: file });
    assert.deepEqual([fromFile.lockoutFailureAttempts, fromFile.lockoutDuration, fromFile.failureBackoffMax], [5, 300, 0]);
    const flags = loadServerConfig({ config: file, lockoutFailureAttempts: '3', lockoutDuration: '60', failureBackoffMax: '2.5' });
    assert.deepEqual([flags.lockoutFailureAttempts, flags.lockoutDuration, flags.failureBackoffMax], [3, 60, 2.5]);
    assert.throws(() => loadServerConfig({ lockoutFailureAttempts: '0' }), /--lockout-failure-attempts/);
    assert.throws(() => loadServerConfig({ lockoutDuration: 'forever' }), /--lockout-duration/);
    assert.throws(() => loadServerConfig({ failureBackoffMax: '-1' }), /--failure-backoff-max/);
    writeFileSync(file, '[identity]\nlockout_failure_attempts = many\n');
    assert.throws(() => loadServerConfig({ config: file }), /lockout_failure_attempts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('[identity] password_hash_rounds: default 14, the file, the flag over the file, values beyond 1-20 refused', () => {
  assert.equal(loadServerConfig({}).passwordHashRounds, 14);
  withConfigFile((load, file) => {
    const fromFile = load('[identity]', 'password_hash_rounds = 12');
    assert.equal(fromFile.passwordHashRounds, 12);
    assert.deepEqual(fromFile.warnings, [], 'a known option, not warned about');
    assert.equal(loadServerConfig({ config: file, passwordHashRounds: '10' }).passwordHashRounds, 10);
    for (const bad of ['0', '21', '1.5', 'many', ''])
      assert.throws(
        () => loadServerConfig({ passwordHashRounds: bad }),
        new RegExp(`--password-hash-rounds must be an integer from 1 to 20 \\(scrypt's N = 2\\^rounds\\), not '${bad}'$`),
      );
    assert.throws(
      () => load('[identity]', 'password_hash_rounds = 32'),
      /\[identity\] password_hash_rounds must be an integer from 1 to 20/,
    );
  });
});

test('change_feed_window: default 10000, [neutrino] change_feed_window, --change-feed-window over the file, bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    assert.equal(loadServerConfig({}).changeFeedWindow, 10000);
    const file = join(dir, 'neutron.conf');
    writeFileSync(file, '[neutrino]\nchange_feed_window = 500\n');
    assert.equal(loadServerConfig({ config: file }).changeFeedWindow, 500);
    assert.equal(loadServerConfig({ config: file, changeFeedWindow: '50' }).changeFeedWindow, 50);
    assert.throws(() => loadServerConfig({ changeFeedWindow: '0' }), /--change-feed-window must be a positive integer/);
    writeFileSync(file, '[neutrino]\nchange_feed_window = lots\n');
    assert.throws(() => loadServerConfig({ config: file }), /\[neutrino\] change_feed_window/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connection bounds and graceful_shutdown_timeout: defaults, [api]/[DEFAULT] options, flags over the file, bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    const d = loadServerConfig({});
    assert.deepEqual([d.headerTimeout, d.requestTimeout, d.keepaliveTimeout, d.gracefulShutdownTimeout], [20, 60, 30, 5]);
    const file = join(dir, 'neutron.conf');
    writeFileSync(
      file,
      '[DEFAULT]\ngraceful_shutdown_timeout = 7\n[api]\nheader_timeout = 3\nrequest_timeout = 9\nkeepalive_timeout = 4\n',
    );
    const f = loadServerConfig({ config: file });
    assert.deepEqual([f.headerTimeout, f.requestTimeout, f.keepaliveTimeout, f.gracefulShutdownTimeout], [3, 9, 4, 7]);
    const flags = loadServerConfig({
      config: file,
      headerTimeout: '2',
      requestTimeout: '5',
      keepaliveTimeout: '1',
      gracefulShutdownTimeout: '8',
    });
    assert.deepEqual([flags.headerTimeout, flags.requestTimeout, flags.keepaliveTimeout, flags.gracefulShutdownTimeout], [2, 5, 1, 8]);
    assert.throws(() => loadServerConfig({ gracefulShutdownTimeout: '0' }), /--graceful-shutdown-timeout/);
    assert.throws(() => loadServerConfig({ keepaliveTimeout: 'never' }), /--keepalive-timeout/);
    assert.throws(() => loadServerConfig({ headerTimeout: '90' }), /must not exceed request timeout/);
    writeFileSync(file, '[api]\nrequest_timeout = -3\n');
    assert.throws(() => loadServerConfig({ config: file }), /\[api\] request_timeout/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auth_strategy and [keystone_authtoken]: keystonemiddleware names, defaults, warnings for what is not implemented, bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  const file = join(dir, 'neutron.conf');
  const authtoken = [
    '[keystone_authtoken]',
    'www_authenticate_uri = http://keystone.example:5000/',
    'auth_url = http://keystone.example:5000/v3',
    'auth_type = password',
    'username = neutron',
    'password = secret',
    'project_name = service',
    'user_domain_name = Default',
    'project_domain_name = Default',
  ];
  const load = (...lines: string[]) => {
    writeFileSync(file, lines.join('\n') + '\n');
    return loadServerConfig({ config: file });
  };
  try {
    const builtin = loadServerConfig({});
    assert.equal(builtin.authStrategy, 'builtin');
    assert.equal(builtin.keystone, null);
    assert.deepEqual(builtin.warnings, []);

    const ks = load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken);
    assert.equal(ks.authStrategy, 'keystone');
    assert.deepEqual(ks.keystone, {
      wwwAuthenticateUri: 'http://keystone.example:5000',
      authUrl: 'http://keystone.example:5000/v3',
      username: 'neutron',
      userId: undefined,
      password: 'secret',
      projectName: 'service',
      projectId: undefined,
      userDomainName: 'Default',
      userDomainId: undefined,
      projectDomainName: 'Default',
      projectDomainId: undefined,
      tokenCacheTime: 300,
      httpConnectTimeout: 10,
      tls: { cafile: undefined, certfile: undefined, keyfile: undefined, insecure: false },
    });
    assert.deepEqual(ks.warnings, []);
    assert.equal(load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken, 'token_cache_time = 5').keystone?.tokenCacheTime, 5);
    assert.equal(loadServerConfig({ config: file, authStrategy: 'builtin' }).keystone, null, '--auth-strategy wins over the file');

    const unknown = load(
      '[DEFAULT]',
      'auth_strategy = keystone',
      ...authtoken,
      'memcached_servers = 127.0.0.1:11211',
      'cafile = /x.pem',
      'region_name = RegionOne',
    );
    assert.deepEqual(unknown.warnings, [
      '[keystone_authtoken] memcached_servers is ignored: each server process caches validated tokens itself, for token_cache_time seconds',
      '[keystone_authtoken] options not implemented by neutrino, without effect: region_name',
    ]);
    assert.equal(unknown.keystone?.tls.cafile, '/x.pem');
    const noUri = load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken.filter((l) => !l.startsWith('www_')));
    assert.equal(noUri.keystone?.wwwAuthenticateUri, 'http://keystone.example:5000/v3');
    assert.match(noUri.warnings.join(), /www_authenticate_uri is not set/);
    assert.match(load(...authtoken).warnings.join(), /\[keystone_authtoken\] is set but auth_strategy is builtin/);

    assert.throws(() => load('[DEFAULT]', 'auth_strategy = noauth'), /auth_strategy must be 'builtin' or 'keystone', not 'noauth'/);
    assert.throws(() => load('[DEFAULT]', 'auth_strategy = keystone'), /needs \[keystone_authtoken\] auth_type = password/);
    assert.throws(
      () => load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken.map((l) => l.replace('= password', '= v3token'))),
      /auth_type must be 'password' .*not 'v3token'/,
    );
    assert.throws(
      () => load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken.filter((l) => !l.startsWith('password'))),
      /needs \[keystone_authtoken\] password/,
    );
    assert.throws(
      () => load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken.filter((l) => !l.startsWith('auth_url'))),
      /needs \[keystone_authtoken\] auth_url/,
    );
    assert.throws(() => load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken, 'token_cache_time = soon'), /token_cache_time/);
    assert.throws(
      () => load('[DEFAULT]', 'auth_strategy = keystone', ...authtoken.map((l) => l.replace('auth_url = http://', 'auth_url = ftp://'))),
      /auth_url must be an http\(s\) URL/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('[ml2_type_vlan] network_vlan_ranges and [ml2] physical_network_mtus: as Neutron parses them, flags over the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    assert.deepEqual(loadServerConfig({}).networkVlanRanges, []);
    const file = join(dir, 'ml2_conf.ini');
    writeFileSync(
      file,
      '[ml2]\ntenant_network_types = vlan,vxlan\nphysical_network_mtus = physnet1:9000, physnet2:1400\n' +
        '[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:100:199,physnet2,physnet1:300:300,physnet2:5:6\n',
    );
    const cfg = loadServerConfig({ config: file });
    assert.deepEqual(cfg.tenantNetworkTypes, ['vlan', 'vxlan']);
    // A physnet named alone may use every VLAN; a later range of it adds nothing.
    assert.deepEqual(cfg.networkVlanRanges, [
      {
        physicalNetwork: 'physnet1',
        ranges: [
          [100, 199],
          [300, 300],
        ],
      },
      { physicalNetwork: 'physnet2', ranges: [[1, 4094]] },
    ]);
    assert.deepEqual(cfg.physicalNetworkMtus, { physnet1: 9000, physnet2: 1400 });
    assert.deepEqual(loadServerConfig({ config: file, networkVlanRanges: 'provider:10:20' }).networkVlanRanges, [
      { physicalNetwork: 'provider', ranges: [[10, 20]] },
    ]);
    for (const [bad, why] of [
      ['p:1', "Invalid network VLAN range: 'p:1' - 'Need exactly two values for VLAN range'."],
      ['p:0:10', "Invalid network VLAN range: 'p:0:10' - '0 is not a valid VLAN tag'."],
      ['p:1:4095', "Invalid network VLAN range: 'p:1:4095' - '4095 is not a valid VLAN tag'."],
      ['p:20:10', "Invalid network VLAN range: 'p:20:10' - 'End of VLAN range is less than start of VLAN range'."],
    ]) {
      assert.throws(() => loadServerConfig({ networkVlanRanges: bad }), { message: why });
    }
    assert.throws(() => loadServerConfig({ physicalNetworkMtus: 'physnet1' }), /physical_network_mtus/);
    assert.throws(() => loadServerConfig({ tenantNetworkTypes: 'gre' }), /'gre' is not supported \(supported: vxlan, vlan\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enable_dvr and router_distributed: DVR extensions listed by default, distributed routers by default refused', () => {
  withConfigFile((load) => {
    assert.equal(loadServerConfig({}).enableDvr, true);
    const off = load('[DEFAULT]', 'enable_dvr = false', 'router_distributed = false');
    assert.equal(off.enableDvr, false);
    assert.deepEqual(off.warnings, [], 'both options are acted on, not warned about');
    assert.throws(() => load('[DEFAULT]', 'router_distributed = true'), /router_distributed = true: distributed routers are not supported/);
    assert.throws(() => load('[DEFAULT]', 'enable_dvr = maybe'), /enable_dvr must be true or false, not 'maybe'/);
  });
});

test('[quotas]: quota_* per resource, default_quota for the others (subnet pools), negative = unlimited, the rest warned', () => {
  withConfigFile((load, file) => {
    assert.equal(loadServerConfig({}).quotaDefaults.network, 100);
    const cfg = load(
      '[quotas]',
      'quota_network = 3',
      'quota_subnet = -1',
      'quota_port = 7',
      'quota_router = 2',
      'quota_floatingip = 4',
      'quota_security_group = 5',
      'quota_security_group_rule = 50',
      'quota_rbac_policy = 6',
      'default_quota = 9',
      'quota_driver = neutron.db.quota.driver_nolock.DbQuotaNoLockDriver',
      'quota_volumes = 3',
    );
    assert.deepEqual(cfg.quotaDefaults, {
      network: 3,
      subnet: -1,
      port: 7,
      router: 2,
      floatingip: 4,
      security_group: 5,
      security_group_rule: 50,
      subnetpool: 9,
      rbac_policy: 6,
    });
    assert.deepEqual(cfg.warnings, [
      `${file}:11: [quotas] quota_driver: not supported by neutrino, ignored`,
      `${file}:12: [quotas] quota_volumes: unknown option`,
    ]);
    assert.throws(
      () => load('[quotas]', 'quota_port = lots'),
      /\[quotas\] quota_port must be an integer \(negative: unlimited\), not 'lots'/,
    );
  });
});
