// The metadata service end to end as root: a lab (the controller runs the DHCP and L3 roles, hence
// the metadata agent; the lab's stand-in for Nova's metadata API listens on 192.168.0.104:8775), a
// network behind a router and an isolated one, an instance on each with an SSH key. Each instance
// fetches its metadata at 169.254.169.254 — through the router's REDIRECT to haproxy on 9697, or from
// haproxy on 169.254.169.254:80 in the DHCP namespace (option 121 routes it there) — and gets its own
// whatever headers it sends; an unknown source address gets 404 and a wrong signature 403, both
// logged; the instances reach neither the proxy's port, the agent nor the metadata server directly.
// Over IPv6 both instances reach fe80::a9fe:a9fe (radvd's route to the router, or the address the
// DHCP namespace's proxy also binds) and are known by the MAC in their link-local address.
// The instance created with --user-data gets it; with [metadata_rate_limiting] on, the proxies
// (restarted on their new configuration) answer 429 beyond the limit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { eventually, labNodes, labUpAsAdmin, resumeAndTakeDown } from '../helpers/lab.ts';
import type { InstanceJson } from '../helpers/shapes.ts';
import { traceJson } from '../helpers/trace-cli.ts';
import { traceLabs } from '../../src/cli/trace-lab.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `md${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-md-lab-'));
const L = ['--lab', lab, '--state-root', root];
const MD = 'http://169.254.169.254';
const NOVA = '192.168.0.104:8775';
/** The IPv6 metadata address, with the instance's NIC as its zone (URL-encoded %). */
const MD6 = 'http://[fe80::a9fe:a9fe%25eth0]';
const PREFIX6 = '2001:db8:51::/64';

let env: NodeJS.ProcessEnv;
let routerId = '';
let isolatedNet = '';
let vm: InstanceJson;
let iso: InstanceJson;
const keys: Record<string, string> = {};
const USER_DATA = '#cloud-config\nhostname: from-user-data\n';

const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });

/** curl in an instance: the body and the HTTP status ('000' when nothing answered). */
async function curlIn(instance: string, url: string, ...extra: string[]): Promise<{ body: string; status: string }> {
  const r = await neutrino(['instance', 'exec', ...L, instance, '--', 'curl', '-s', '-m', '3', '-w', '\n%{http_code}', ...extra, url]);
  const lines = r.stdout.split('\n');
  return { status: lines.at(-1) ?? '', body: lines.slice(0, -1).join('\n') };
}
const fetchOk = async (instance: string, path: string) => {
  const r = await curlIn(instance, `${MD}${path}`);
  assert.equal(r.status, '200', `${path} from ${instance}: ${r.body}`);
  return r.body;
};

/** The body once the path answers 200 (a proxy just started may need a moment), else false. */
const bodyWhenOk = async (instance: string, path: string) => {
  const r = await curlIn(instance, `${MD}${path}`);
  return r.status === '200' && r.body;
};

function makeKey(name: string): string {
  const file = join(root, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@lab`, '-f', file]);
  keys[name] = readFileSync(`${file}.pub`, 'utf8').trim();
  return `${file}.pub`;
}

function userDataFile(): string {
  const file = join(root, 'user-data');
  writeFileSync(file, USER_DATA);
  return file;
}

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
  openstack('network', 'create', '--project', 'demo', 'selfservice');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
  openstack(
    ...['subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--ip-version', '6', '--subnet-range', PREFIX6],
    ...['--ipv6-ra-mode', 'slaac', '--ipv6-address-mode', 'slaac', 'selfservice6'],
  );
  routerId = openstack('router', 'create', '--project', 'demo', 'router').id;
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice');
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice6');
  isolatedNet = openstack('network', 'create', '--project', 'demo', 'isolated').id;
  // The pool ends at .200: 10.77.0.250 below is an address of the subnet that no port can hold.
  openstack(
    ...['subnet', 'create', '--project', 'demo', '--network', 'isolated', '--subnet-range', '10.77.0.0/24'],
    ...['--allocation-pool', 'start=10.77.0.2,end=10.77.0.200', 'isolated'],
  );
  // No router sends advertisements there: its instance has its link-local address only.
  openstack(
    ...['subnet', 'create', '--project', 'demo', '--network', 'isolated', '--ip-version', '6', '--subnet-range', 'fd00:77::/64'],
    ...['--ipv6-address-mode', 'slaac', 'isolated6'],
  );
  await neutrinoOk(
    [
      ...['instance', 'create', ...L, 'vm', '--network', 'selfservice', '--host', 'compute1', '--ssh-key', makeKey('vmkey')],
      ...['--user-data', userDataFile()],
    ],
    60_000,
  );
  await neutrinoOk(
    [
      'instance',
      'create',
      ...L,
      'iso',
      '--network',
      'isolated',
      '--host',
      'compute1',
      '--ssh-key',
      makeKey('isokey'),
      '--key-name',
      'isolated key',
    ],
    60_000,
  );
  const list = JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
  vm = list.find((i) => i.name === 'vm')!;
  iso = list.find((i) => i.name === 'iso')!;
});

after(async () => {
  if (skip) return;
  await resumeAndTakeDown(root, lab);
});

test('through the router: OpenStack and EC2 metadata of the instance, its key from --ssh-key', { skip, timeout: 120_000 }, async () => {
  const ns = `qrouter-${routerId}`;
  const nat = execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
  assert.match(
    nat,
    /-A neutron-l3-agent-PREROUTING -d 169\.254\.169\.254\/32 -i qr-\+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697/,
  );
  const filter = execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-S', 'neutron-l3-agent-INPUT'], { encoding: 'utf8' });
  assert.match(
    filter,
    /-A neutron-l3-agent-INPUT -m mark --mark 0x1\/0xffff -j ACCEPT\n-A neutron-l3-agent-INPUT -p tcp -m tcp --dport 9697 -j DROP/,
  );
  const meta = JSON.parse(
    await eventually('meta_data.json through the router', () => bodyWhenOk('vm', '/openstack/latest/meta_data.json'), 30_000),
  ) as Record<string, unknown>;
  const port = openstack('port', 'show', vm.port_id);
  assert.equal(meta['uuid'], vm.id);
  assert.equal(meta['name'], 'vm');
  assert.equal(meta['hostname'], 'vm.novalocal');
  assert.equal(meta['project_id'], port.project_id);
  assert.equal(meta['availability_zone'], 'nova');
  assert.deepEqual(meta['public_keys'], { vmkey: keys['vmkey'] });
  const net = JSON.parse(await fetchOk('vm', '/openstack/latest/network_data.json')) as { links: Array<{ ethernet_mac_address: string }> };
  assert.equal(net.links[0]!.ethernet_mac_address, vm.mac);
  assert.equal(await fetchOk('vm', '/latest/meta-data/local-ipv4'), vm.ip!.split('/')[0]);
  assert.equal(await fetchOk('vm', '/latest/meta-data/hostname'), 'vm.novalocal');
  assert.match(await fetchOk('vm', '/latest/meta-data/instance-id'), /^i-[0-9a-f]{8}$/);
  assert.equal(await fetchOk('vm', '/latest/meta-data/public-keys/'), '0=vmkey');
  assert.equal(await fetchOk('vm', '/latest/meta-data/public-keys/0/openssh-key'), keys['vmkey']);
  // --user-data, as Nova serves it; an instance without any gets 404 (and no listing of it).
  assert.equal(await fetchOk('vm', '/openstack/latest/user_data'), USER_DATA);
  assert.equal(await fetchOk('vm', '/latest/user-data'), USER_DATA);
  assert.match(await fetchOk('vm', '/openstack/latest'), /^meta_data\.json\nuser_data\n/);
  assert.equal((await curlIn('iso', `${MD}/openstack/latest/user_data`)).status, '404');
  // The selfservice subnet is on a router: DHCP routes 169.254.169.254 via its gateway (option 121).
  const routes = (await neutrinoOk(['instance', 'exec', ...L, 'vm', '--', 'ip', 'route'])).split('\n');
  assert.ok(
    routes.some((r) => /^169\.254\.169\.254 via 172\.16\.1\.1 dev eth0/.test(r)),
    routes.join('\n'),
  );
  // The tracer reads that route from the instance's own table, its first hop.
  const traced = await traceJson({ kind: 'instance', target: 'vm', metadata: true, lab, labs: traceLabs(root) });
  assert.equal(traced.code, 0, JSON.stringify(traced.report.firstBroken));
  // (after the hops that check the agents' liveness, the live trace's own preamble)
  const route = traced.report.hops.find((h) => h.check === 'metadata route');
  assert.deepEqual([route?.namespace, route?.observed], [vm.namespace, { route: '169.254.169.254 via 172.16.1.1 dev eth0' }]);
  const agents = openstack('network', 'agent', 'list', '--host', 'controller') as Array<{ 'Agent Type': string; Alive: boolean }>;
  assert.ok(
    agents.some((a) => a['Agent Type'] === 'Metadata agent' && a.Alive),
    JSON.stringify(agents),
  );
});

test(
  'on an isolated network: haproxy in qdhcp- on 169.254.169.254, the option 121 route to the DHCP port',
  { skip, timeout: 120_000 },
  async () => {
    const dhcpPort = (
      openstack('port', 'list', '--network', isolatedNet, '--device-owner', 'network:dhcp') as Array<{
        'Fixed IP Addresses': Array<{ ip_address: string }>;
      }>
    )[0]!;
    const dhcpIp = dhcpPort['Fixed IP Addresses'][0]!.ip_address;
    const addrs = execFileSync('ip', ['-n', `qdhcp-${isolatedNet}`, '-o', 'addr', 'show'], { encoding: 'utf8' });
    assert.match(addrs, /inet 169\.254\.169\.254\/32/);
    const routes = (await neutrinoOk(['instance', 'exec', ...L, 'iso', '--', 'ip', 'route'])).split('\n');
    assert.ok(
      routes.some((r) => r.startsWith(`169.254.169.254 via ${dhcpIp} dev eth0`)),
      routes.join('\n'),
    );
    const meta = JSON.parse(
      await eventually('meta_data.json on the isolated network', () => bodyWhenOk('iso', '/openstack/latest/meta_data.json'), 30_000),
    ) as Record<string, unknown>;
    assert.equal(meta['uuid'], iso.id);
    assert.deepEqual(meta['public_keys'], { 'isolated key': keys['isokey'] });
    assert.equal(await fetchOk('iso', '/latest/meta-data/public-keys/0/openssh-key'), keys['isokey']);
  },
);

test(
  'over IPv6: fe80::a9fe:a9fe routed to the router by its advertisements and redirected there; bound in qdhcp- on the isolated network',
  { skip, timeout: 120_000 },
  async () => {
    const nat6 = execFileSync('ip', ['netns', 'exec', `qrouter-${routerId}`, 'ip6tables', '-t', 'nat', '-S'], { encoding: 'utf8' });
    assert.match(
      nat6,
      /-A neutron-l3-agent-PREROUTING -d fe80::a9fe:a9fe\/128 -i qr-\+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697/,
    );
    // radvd's route information option, which the instance accepts (up to /128), leads to the router.
    const route6 = await eventually(
      'the route to fe80::a9fe:a9fe from the router advertisements',
      async () => {
        const out = await neutrinoOk(['instance', 'exec', ...L, 'vm', '--', 'ip', '-6', 'route', 'show', 'fe80::a9fe:a9fe']);
        return /via fe80::\S+ dev eth0/.test(out) && out;
      },
      60_000,
    );
    assert.match(route6, /proto ra/);
    const fromVm = JSON.parse(
      await eventually(
        'meta_data.json over IPv6 through the router',
        async () => {
          const r = await curlIn('vm', `${MD6}/openstack/latest/meta_data.json`, '-g', '-6');
          return r.status === '200' && r.body;
        },
        30_000,
      ),
    ) as { uuid: string };
    assert.equal(fromVm.uuid, vm.id);
    // The instance asked from its link-local address: the agent knew it by the MAC in it.
    const vmV6 = openstack('port', 'show', vm.port_id).fixed_ips.find((f: { ip_address: string }) => f.ip_address.includes(':'));
    assert.ok(vmV6?.ip_address.startsWith('2001:db8:51:'), JSON.stringify(vmV6));
    const addrs = execFileSync('ip', ['-n', `qdhcp-${isolatedNet}`, '-o', 'addr', 'show'], { encoding: 'utf8' });
    assert.match(addrs, /inet6 fe80::a9fe:a9fe\/128/);
    const fromIso = JSON.parse(
      await eventually(
        'meta_data.json over IPv6 on the isolated network',
        async () => {
          const r = await curlIn('iso', `${MD6}/openstack/latest/meta_data.json`, '-g', '-6');
          return r.status === '200' && r.body;
        },
        30_000,
      ),
    ) as { uuid: string };
    assert.equal(fromIso.uuid, iso.id);
    // The router's proxy port takes nothing unmarked over IPv6 either.
    assert.equal((await curlIn('vm', 'http://[2001:db8:51::1]:9697/latest/meta-data/', '-g')).status, '000');
    // The tracer follows both IPv6 paths.
    for (const [name, checks] of [
      ['vm', ['metadata route', 'metadata redirect (IPv6)', 'metadata accept (IPv6)']],
      ['iso', ['metadata address']],
    ] as const) {
      const traced = await traceJson({ kind: 'instance', target: name, metadata: true, lab, labs: traceLabs(root) });
      assert.equal(traced.code, 0, `${name}: ${JSON.stringify(traced.report.firstBroken)}`);
      const seen = traced.report.hops.map((h) => h.check);
      for (const c of checks) assert.ok(seen.includes(c), `${name}: ${seen.join(', ')}`);
    }
  },
);

test('spoofed headers from an instance are ignored: it gets its own metadata', { skip, timeout: 60_000 }, async () => {
  const spoof = [
    ...['-H', `X-Instance-ID: ${iso.id}`, '-H', 'X-Tenant-ID: admin', '-H', 'X-Instance-ID-Signature: 00'],
    ...[
      '-H',
      `X-Neutron-Network-ID: ${isolatedNet}`,
      '-H',
      `X-Neutron-Router-ID: ${routerId}`,
      '-H',
      `X-Forwarded-For: ${iso.ip!.split('/')[0]}`,
    ],
  ];
  const fromVm = await curlIn('vm', `${MD}/openstack/latest/meta_data.json`, ...spoof);
  assert.equal(fromVm.status, '200', fromVm.body);
  assert.equal((JSON.parse(fromVm.body) as { uuid: string }).uuid, vm.id);
  const fromIso = await curlIn(
    'iso',
    `${MD}/openstack/latest/meta_data.json`,
    ...spoof.slice(0, 6),
    '-H',
    `X-Neutron-Router-ID: ${routerId}`,
    '-H',
    `X-Forwarded-For: ${vm.ip!.split('/')[0]}`,
  );
  assert.equal(fromIso.status, '200', fromIso.body);
  assert.equal((JSON.parse(fromIso.body) as { uuid: string }).uuid, iso.id);
});

test('an unknown source address gets 404, a wrong signature 403; both are logged', { skip, timeout: 60_000 }, async () => {
  const socket = join(root, 'labs', lab, 'nodes', 'controller', 'state', 'metadata_proxy');
  const viaAgent = await neutrino([
    ...['lab', 'exec', ...L, 'controller', '--', 'curl', '-s', '-w', '\n%{http_code}', '--unix-socket', socket],
    ...['-H', 'X-Forwarded-For: 10.77.0.250', '-H', `X-Neutron-Network-ID: ${isolatedNet}`, 'http://metadata/latest/meta-data/'],
  ]);
  assert.equal(viaAgent.stdout.split('\n').at(-1), '404', viaAgent.stdout);
  const agentLog = readFileSync(join(root, 'labs', lab, 'logs', 'agent-controller.log'), 'utf8');
  assert.match(agentLog, /no port found with IP address 10\.77\.0\.250 behind network/);
  const badSig = await neutrino([
    ...['lab', 'exec', ...L, 'controller', '--', 'curl', '-s', '-w', '\n%{http_code}'],
    ...[
      '-H',
      `X-Instance-ID: ${vm.id}`,
      '-H',
      'X-Tenant-ID: x',
      '-H',
      'X-Instance-ID-Signature: 0badc0de',
      `http://${NOVA}/latest/meta-data/`,
    ],
  ]);
  assert.equal(badSig.stdout.split('\n').at(-1), '403', badSig.stdout);
  const serverLog = readFileSync(join(root, 'labs', lab, 'logs', 'metadata-server.log'), 'utf8');
  assert.match(serverLog, /X-Instance-ID-Signature does not match/);
});

test('instances reach neither the proxy port, the metadata agent nor the metadata server directly', { skip, timeout: 60_000 }, async () => {
  // The router's 9697 only takes what the REDIRECT marked.
  assert.equal((await curlIn('vm', 'http://172.16.1.1:9697/latest/meta-data/')).status, '000');
  // The metadata server is on the management network, which no instance network routes to.
  assert.equal((await curlIn('vm', `http://${NOVA}/latest/meta-data/`)).status, '000');
  assert.equal((await curlIn('iso', `http://${NOVA}/latest/meta-data/`)).status, '000');
  // The DHCP namespace's proxy listens on 169.254.169.254 only, not on the DHCP port's address.
  const dhcpIp = (await neutrinoOk(['instance', 'exec', ...L, 'iso', '--', 'ip', 'route'])).match(/169\.254\.169\.254 via (\S+)/)![1]!;
  assert.equal((await curlIn('iso', `http://${dhcpIp}/latest/meta-data/`)).status, '000');
  // The metadata agent (in the controller's agent) has no TCP port at all: only its UNIX socket.
  const agentPid = labNodes(root, lab).find((n) => n.name === 'controller')!.agentPid!;
  const listening = execFileSync('ip', ['netns', 'exec', `${lab}-controller`, 'ss', '-Hltnp'], { encoding: 'utf8' });
  assert.doesNotMatch(listening, new RegExp(`pid=${agentPid},`));
  assert.match(listening, /192\.168\.0\.104:8775/);
});

test(
  '[metadata_rate_limiting]: the proxies restart on their new configuration and answer 429 beyond the limit',
  { skip, timeout: 120_000 },
  async () => {
    const LIMIT = 4;
    const nodeDir = join(root, 'labs', lab, 'nodes', 'controller');
    appendFileSync(
      join(nodeDir, 'agent.ini'),
      `\n[metadata_rate_limiting]\nrate_limit_enabled = true\nbase_window_duration = 60\nbase_query_rate_limit = ${LIMIT}\nburst_window_duration = 60\nburst_query_rate_limit = ${LIMIT}\n`,
    );
    await neutrinoOk(['lab', 'restart-agent', ...L, 'controller']);
    const conf = (id: string) => readFileSync(join(nodeDir, 'state', 'ns-metadata-proxy', `${id}.conf`), 'utf8');
    for (const id of [routerId, isolatedNet])
      await eventually(`haproxy of ${id} limited`, () => Promise.resolve(conf(id).includes('deny_status 429')), 30_000);
    for (const instance of ['vm', 'iso']) {
      // The restarted proxy answers again; from then on each source has LIMIT requests per window.
      await eventually(`metadata from ${instance} again`, () => bodyWhenOk(instance, '/latest/meta-data/instance-id'), 30_000);
      const statuses: string[] = [];
      for (let n = 0; n < LIMIT + 2; n++) statuses.push((await curlIn(instance, `${MD}/latest/meta-data/instance-id`)).status);
      assert.ok(statuses.includes('429'), `${instance}: ${statuses.join(' ')}`);
      assert.deepEqual(
        statuses.filter((s) => s !== '429' && s !== '200'),
        [],
        `${instance}: ${statuses.join(' ')}`,
      );
    }
  },
);
