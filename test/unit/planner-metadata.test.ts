// The metadata path in the planner, as Neutron builds it: in qrouter-<id> the REDIRECT of
// 169.254.169.254:80 from qr-+ to 9697, the mark, INPUT's accept/drop and haproxy adding
// X-Neutron-Router-ID; in qdhcp-<net> (enable_isolated_metadata / force_metadata) 169.254.169.254 on
// the ns- device, haproxy on it adding X-Neutron-Network-ID, and option 121's route to it; over
// IPv6, fe80::a9fe:a9fe redirected in the router's ip6tables or bound on the ns- device; the
// metadata agent's decisions (source, headers, signature); the lab's documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { planNode } from '../../src/planner/index.ts';
import { haproxyConfig, isolatedSubnets, type MetadataFacts } from '../../src/planner/metadata.ts';
import { controllerFacts, NS, ROUTER, router, view } from '../helpers/router-view.ts';
import { dhcpPort, dhcpView, SLAAC, subnet, V4 } from '../helpers/dhcp6-view.ts';
import { metadataSource, novaHeaders, signInstanceId } from '../../src/agent/metadata-request.ts';
import { metadataAnswer, type MetadataInstance } from '../../src/lab/metadata-docs.ts';
import { signatureValid } from '../../src/lab/metadata-server.ts';
import { checkUserData } from '../../src/lab/instance-state.ts';
import { parseAgentConfig, rateLimitingProblem, renderAgentConfig } from '../../src/agent/config.ts';
import { diffProcesses } from '../../src/kernel/diff-procs.ts';
import { addressState } from '../../src/exec/procs.ts';
import type { DesiredNamespace, NsKey, ObservedNamespace, ProcessSpec } from '../../src/kernel/types.ts';
import { metadataFacts } from '../../src/agent/metadata-facts.ts';
import type { HostView, PortView } from '../../src/model/hostview.ts';

const md = (over: Partial<MetadataFacts> = {}): MetadataFacts => ({
  socket: '/var/lib/neutrino/metadata_proxy',
  user: 'root',
  group: 'root',
  enableIsolatedMetadata: false,
  forceMetadata: false,
  enableMetadataProxy: true,
  rateLimit: null,
  ...over,
});
const chains = (t: { name: string; rules: string[] }[] | undefined) => Object.fromEntries((t ?? []).map((c) => [c.name, c.rules]));

test("the router: REDIRECT to 9697 before the floating IPs' DNAT, the mark, INPUT accept/drop, marked packets never forwarded", () => {
  const ns = planNode(view([router()]), { ...controllerFacts(['l2', 'l3']), metadata: md() }).desired.namespaces[NS]!;
  const nat = chains(ns.iptables.nat);
  assert.deepEqual(nat['neutron-l3-agent-PREROUTING'], [
    '-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
    '-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.3',
  ]);
  assert.deepEqual(chains(ns.iptables.mangle)['neutron-l3-agent-PREROUTING'], [
    '-j neutron-l3-agent-mark',
    '-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffff',
  ]);
  assert.deepEqual(chains(ns.iptables.filter), {
    INPUT: ['-j neutron-l3-agent-INPUT'],
    FORWARD: ['-j neutron-l3-agent-FORWARD'],
    'neutron-l3-agent-FORWARD': ['-j neutron-l3-agent-scope'],
    'neutron-l3-agent-INPUT': ['-m mark --mark 0x1/0xffff -j ACCEPT', '-p tcp -m tcp --dport 9697 -j DROP'],
    'neutron-l3-agent-scope': ['-m mark --mark 0x1/0xffff -j DROP'],
  });
  // The proxy binds '::': in ip6tables, fe80::a9fe:a9fe:80 marked and redirected to it, the same
  // INPUT and forwarding rules; none on a kernel without IPv6.
  assert.deepEqual(chains(ns.ip6tables?.filter), {
    INPUT: ['-j neutron-l3-agent-INPUT'],
    FORWARD: ['-j neutron-l3-agent-FORWARD'],
    'neutron-l3-agent-FORWARD': ['-j neutron-l3-agent-scope'],
    'neutron-l3-agent-INPUT': ['-m mark --mark 0x1/0xffff -j ACCEPT', '-p tcp -m tcp --dport 9697 -j DROP'],
    'neutron-l3-agent-scope': ['-m mark --mark 0x1/0xffff -j DROP'],
  });
  assert.deepEqual(chains(ns.ip6tables?.nat), {
    PREROUTING: ['-j neutron-l3-agent-PREROUTING'],
    'neutron-l3-agent-PREROUTING': ['-d fe80::a9fe:a9fe/128 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697'],
  });
  assert.deepEqual(chains(ns.ip6tables?.mangle), {
    PREROUTING: ['-j neutron-l3-agent-PREROUTING'],
    'neutron-l3-agent-PREROUTING': ['-d fe80::a9fe:a9fe/128 -i qr-+ -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffff'],
  });
  const noV6 = planNode(view([router()]), { ...controllerFacts(['l2', 'l3']), metadata: md(), ipv6: false }).desired.namespaces[NS]!;
  assert.equal(noV6.ip6tables, undefined);
  assert.match(noV6.processes[0]!.files[0]!.content, /\n {4}bind 0\.0\.0\.0:9697\n/);
});

test("the router's haproxy: Neutron's argv, pid file and configuration, bound to :: on 9697, forwarding to the agent's socket", () => {
  const ns = planNode(view([router()]), { ...controllerFacts(['l2', 'l3']), metadata: md() }).desired.namespaces[NS]!;
  const p = ns.processes.find((x) => x.id === `haproxy-${ROUTER}`)!;
  const conf = `/var/lib/neutrino/ns-metadata-proxy/${ROUTER}.conf`;
  assert.deepEqual(p.argv, ['haproxy', '-f', conf]);
  assert.equal(p.pidFile, `/var/lib/neutrino/external/pids/${ROUTER}.pid.haproxy`);
  const text = p.files.find((f) => f.path === conf)!.content;
  assert.match(text, /\n {4}bind :::9697\n/);
  assert.match(text, /\n {4}server metadata \/var\/lib\/neutrino\/metadata_proxy\n/);
  assert.match(text, /\n {4}option forwardfor\n/);
  assert.match(
    text,
    new RegExp(`http-request del-header X-Neutron-Network-ID\n {4}http-request set-header X-Neutron-Router-ID ${ROUTER}\n$`),
  );
  assert.match(text, /\n {4}pidfile {5}\/var\/lib\/neutrino\/external\/pids\/.*\.pid\.haproxy\n {4}daemon\n/);
});

test('enable_metadata_proxy = false, or no metadata settings: no proxy and none of its rules', () => {
  for (const metadata of [md({ enableMetadataProxy: false }), undefined]) {
    const ns = planNode(view([router()]), { ...controllerFacts(['l2', 'l3']), metadata }).desired.namespaces[NS]!;
    assert.equal(ns.processes.length, 0);
    assert.equal(ns.iptables.filter, undefined);
    assert.deepEqual(chains(ns.iptables.nat)['neutron-l3-agent-PREROUTING'], ['-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.3']);
  }
});

const NET = 'e6e37ba0-3b3f-4d4f-9a1b-2c3d4e5f6a7b';
const V4ONLY = [subnet(NET, V4, '172.16.1.0/24', '172.16.1.1', null)];
const routerPort: PortView = {
  ...dhcpPort(NET, V4ONLY),
  id: 'cccccccc-0000-4000-8000-000000000001',
  device_owner: 'network:router_interface',
};
const isolatedView = (): HostView => dhcpView(NET, V4ONLY);
/** The same network with a router interface holding the subnet's gateway (172.16.1.1). */
const routedView = (): HostView => {
  const v = isolatedView();
  const rp = { ...routerPort, fixed_ips: [{ subnet_id: V4, ip_address: '172.16.1.1' }] };
  return { ...v, dhcp_ports: [...v.dhcp_ports, rp] };
};
const dhcpNs = (v: HostView, metadata?: MetadataFacts) =>
  planNode(v, { ...controllerFacts(['l2', 'dhcp']), metadata }).desired.namespaces[`qdhcp-${NET}`]!;
const opts = (v: HostView, metadata?: MetadataFacts) =>
  dhcpNs(v, metadata)
    .processes.find((p) => p.argv[0] === 'dnsmasq')!
    .files.find((f) => f.path.endsWith('/opts'))!.content;

test('isolated subnets: a router interface holding the gateway address attaches the subnet; any other address does not', () => {
  assert.deepEqual([...isolatedSubnets(V4ONLY, isolatedView().dhcp_ports)], [V4]);
  assert.deepEqual([...isolatedSubnets(V4ONLY, routedView().dhcp_ports)], []);
  const elsewhere = { ...routerPort, fixed_ips: [{ subnet_id: V4, ip_address: '172.16.1.254' }] };
  assert.deepEqual([...isolatedSubnets(V4ONLY, [elsewhere])], [V4]);
});

test('isolated network with enable_isolated_metadata: 169.254.169.254 on ns-, haproxy on it adding X-Neutron-Network-ID, option 121 via the DHCP port', () => {
  const ns = dhcpNs(isolatedView(), md({ enableIsolatedMetadata: true }));
  assert.ok(ns.addresses.some((a) => a.address === '169.254.169.254/32' && a.dev.startsWith('ns-')));
  const p = ns.processes.find((x) => x.id === `haproxy-${NET}`)!;
  const text = p.files[0]!.content;
  assert.match(text, /\n {4}bind 169\.254\.169\.254:80\n/);
  assert.match(text, new RegExp(`del-header X-Neutron-Router-ID\n {4}http-request set-header X-Neutron-Network-ID ${NET}\n$`));
  assert.match(
    opts(isolatedView(), md({ enableIsolatedMetadata: true })),
    new RegExp(
      `tag:subnet-${V4},option:classless-static-route,169\\.254\\.169\\.254/32,172\\.16\\.1\\.2,0\\.0\\.0\\.0/0,172\\.16\\.1\\.1\n`,
    ),
  );
});

test('isolated network with an IPv6 subnet: fe80::a9fe:a9fe on ns- too, the proxy binding it there once DAD has passed', () => {
  const DUAL = [...V4ONLY, subnet(NET, SLAAC, 'fd00:1::/64', 'fd00:1::1', 'slaac')];
  const ns = dhcpNs(dhcpView(NET, DUAL), md({ enableIsolatedMetadata: true }));
  const dev = ns.addresses.find((a) => a.address === '169.254.169.254/32')!.dev;
  assert.ok(ns.addresses.some((a) => a.address === 'fe80::a9fe:a9fe/128' && a.dev === dev));
  const p = ns.processes.find((x) => x.id === `haproxy-${NET}`)!;
  assert.ok(p.files[0]!.content.includes(`\n    bind 169.254.169.254:80\n    bind [fe80::a9fe:a9fe]:80 interface ${dev}\n`));
  assert.deepEqual(p.waitAddress, { dev, address: 'fe80::a9fe:a9fe' });
  // IPv4 only, or IPv6 off in the kernel, or a DHCP-disabled IPv6 subnet: no IPv6 address nor bind.
  const off = [
    dhcpNs(isolatedView(), md({ enableIsolatedMetadata: true })),
    planNode(dhcpView(NET, DUAL), { ...controllerFacts(['l2', 'dhcp']), metadata: md({ enableIsolatedMetadata: true }), ipv6: false })
      .desired.namespaces[`qdhcp-${NET}`]!,
    dhcpNs(dhcpView(NET, [V4ONLY[0]!, { ...DUAL[1]!, enable_dhcp: false }]), md({ enableIsolatedMetadata: true })),
  ];
  for (const o of off) {
    assert.ok(!o.addresses.some((a) => a.address.startsWith('fe80::a9fe')));
    const h = o.processes.find((x) => x.id === `haproxy-${NET}`)!;
    assert.match(h.files[0]!.content, /\n {4}bind 169\.254\.169\.254:80\n {4}\n/);
    assert.equal(h.waitAddress, undefined);
  }
});

test("a network on a router: no DHCP proxy (unless forced); option 121 routes metadata via the gateway, as Neutron's always does", () => {
  const routed = dhcpNs(routedView(), md({ enableIsolatedMetadata: true }));
  assert.equal(routed.processes.filter((p) => p.argv[0] === 'haproxy').length, 0);
  // The address is there whenever either option is on (DeviceManager._set_metadata_address).
  assert.ok(routed.addresses.some((a) => a.address === '169.254.169.254/32'));
  for (const metadata of [undefined, md(), md({ enableIsolatedMetadata: true })])
    assert.match(
      opts(routedView(), metadata),
      /option:classless-static-route,169\.254\.169\.254\/32,172\.16\.1\.1,0\.0\.0\.0\/0,172\.16\.1\.1\n/,
    );
  const forced = dhcpNs(routedView(), md({ forceMetadata: true }));
  assert.equal(forced.processes.filter((p) => p.argv[0] === 'haproxy').length, 1);
  assert.match(opts(routedView(), md({ forceMetadata: true })), /169\.254\.169\.254\/32,172\.16\.1\.2,0\.0\.0\.0\/0/);
});

test('isolated network, metadata options off (Neutron defaults): no address, no proxy, no metadata route', () => {
  const ns = dhcpNs(isolatedView(), md());
  assert.ok(!ns.addresses.some((a) => a.address === '169.254.169.254/32'));
  assert.equal(ns.processes.filter((p) => p.argv[0] === 'haproxy').length, 0);
  assert.doesNotMatch(opts(isolatedView(), md()), /169\.254\.169\.254/);
});

test("the agent's settings: Neutron's option names and defaults in [DEFAULT]", () => {
  const base = '[DEFAULT]\nhost = n1\nstate_path = /s\n[vxlan]\nenable_vxlan = false\n';
  const d = parseAgentConfig(base);
  assert.deepEqual(metadataFacts(d, { user: 'neutron', group: 'neutron' }), {
    socket: '/s/metadata_proxy',
    user: 'neutron',
    group: 'neutron',
    enableIsolatedMetadata: false,
    forceMetadata: false,
    enableMetadataProxy: true,
    rateLimit: null,
  });
  assert.deepEqual(
    [d.metadata.novaMetadataHost, d.metadata.novaMetadataPort, d.metadata.novaMetadataProtocol],
    ['127.0.0.1', 8775, 'http'],
  );
  const set = parseAgentConfig(
    base.replace(
      '[vxlan]',
      'enable_isolated_metadata = true\nmetadata_proxy_socket = /run/md.sock\nnova_metadata_host = 10.0.0.11\nnova_metadata_port = 9775\nmetadata_proxy_shared_secret = s3cret\n[vxlan]',
    ),
  );
  assert.equal(set.metadata.enableIsolatedMetadata, true);
  assert.equal(metadataFacts(set, { user: 'root', group: 'root' }).socket, '/run/md.sock');
  assert.deepEqual(
    [set.metadata.novaMetadataHost, set.metadata.novaMetadataPort, set.metadata.sharedSecret],
    ['10.0.0.11', 9775, 's3cret'],
  );
  assert.throws(() => parseAgentConfig(base.replace('[vxlan]', 'nova_metadata_protocol = ftp\n[vxlan]')), /nova_metadata_protocol/);
});

test("the metadata agent: the proxy's (last) X-Forwarded-For and header decide; both IDs at once or none are refused", () => {
  assert.deepEqual(metadataSource({ 'x-forwarded-for': '10.0.0.9, ::ffff:172.16.1.3', 'x-neutron-router-id': 'r1' }), {
    remoteIp: '172.16.1.3',
    routerId: 'r1',
  });
  assert.deepEqual(metadataSource({ 'x-forwarded-for': '172.16.1.3', 'x-neutron-network-id': 'n1' }), {
    remoteIp: '172.16.1.3',
    networkId: 'n1',
  });
  // A link-local source (a request to fe80::a9fe:a9fe) is known by the MAC its EUI-64 carries.
  assert.deepEqual(metadataSource({ 'x-forwarded-for': 'fe80::f816:3eff:fea7:f75a', 'x-neutron-network-id': 'n1' }), {
    remoteIp: 'fe80::f816:3eff:fea7:f75a',
    remoteMac: 'fa:16:3e:a7:f7:5a',
    networkId: 'n1',
  });
  assert.deepEqual(metadataSource({ 'x-forwarded-for': 'fd00:1::f816:3eff:fea7:f75a', 'x-neutron-router-id': 'r1' }), {
    remoteIp: 'fd00:1::f816:3eff:fea7:f75a',
    routerId: 'r1',
  });
  assert.ok('refused' in metadataSource({ 'x-forwarded-for': '172.16.1.3', 'x-neutron-network-id': 'n1', 'x-neutron-router-id': 'r1' }));
  assert.ok('refused' in metadataSource({ 'x-forwarded-for': '172.16.1.3' }));
  assert.ok('refused' in metadataSource({ 'x-neutron-router-id': 'r1' }));
});

test("Nova's headers: X-Instance-ID-Signature is HMAC-SHA256 of the instance id with the shared secret, hex", () => {
  const h = novaHeaders({ remoteIp: '172.16.1.3', instanceId: 'i1', projectId: 'p1', secret: 's' });
  assert.equal(h['X-Instance-ID-Signature'], createHmac('sha256', 's').update('i1').digest('hex'));
  assert.deepEqual(Object.keys(h).sort(), ['X-Forwarded-For', 'X-Instance-ID', 'X-Instance-ID-Signature', 'X-Tenant-ID']);
  assert.equal(signatureValid('s', 'i1', signInstanceId('s', 'i1')), true);
  assert.equal(signatureValid('s', 'i1', signInstanceId('other', 'i1')), false);
  assert.equal(signatureValid('s', 'i1', 'short'), false);
});

const inst: MetadataInstance = {
  id: '664c706e-1801-48ad-bd70-b9dd17903f3d',
  name: 'vm',
  projectId: 'p1',
  publicKeys: [{ name: 'mykey', key: 'ssh-ed25519 AAAA x@y' }],
  port: { id: '3c338602-d806-488a-ae66-c4c8f8d13b9b', mac: 'fa:16:3e:00:00:03', fixedIps: [{ subnet_id: 's4', ip_address: '172.16.1.3' }] },
  network: { id: NET, mtu: 1450 },
  subnets: [{ id: 's4', ip_version: 4, cidr: '172.16.1.0/24', gateway_ip: '172.16.1.1', enable_dhcp: true, dns_nameservers: ['8.8.8.8'] }],
  floatingIp: '10.123.123.104',
};

test("the lab's documents: meta_data.json, network_data.json and the EC2 tree in Nova's formats", () => {
  const meta = JSON.parse(String(metadataAnswer('/openstack/latest/meta_data.json', inst).body)) as Record<string, unknown>;
  assert.deepEqual(
    [meta['uuid'], meta['name'], meta['hostname'], meta['project_id'], meta['availability_zone'], meta['public_keys']],
    [inst.id, 'vm', 'vm.novalocal', 'p1', 'nova', { mykey: 'ssh-ed25519 AAAA x@y' }],
  );
  const net = JSON.parse(String(metadataAnswer('/openstack/latest/network_data.json', inst).body)) as Record<string, unknown>;
  assert.deepEqual(net['networks'], [{ id: 'network0', type: 'ipv4_dhcp', link: 'tap3c338602-d8', network_id: NET }]);
  assert.deepEqual(net['services'], [{ type: 'dns', address: '8.8.8.8' }]);
  const ec2 = (p: string) => String(metadataAnswer(`/latest/meta-data/${p}`, inst).body);
  assert.equal(ec2('instance-id'), 'i-664c706e');
  assert.equal(ec2('local-ipv4'), '172.16.1.3');
  assert.equal(ec2('public-ipv4'), '10.123.123.104');
  assert.equal(ec2('hostname'), 'vm.novalocal');
  assert.equal(ec2('public-keys/'), '0=mykey');
  assert.equal(ec2('public-keys/0/'), 'openssh-key');
  assert.equal(ec2('public-keys/0/openssh-key'), 'ssh-ed25519 AAAA x@y');
  assert.match(ec2(''), /^instance-id\nlocal-ipv4\npublic-ipv4\nhostname\n/);
  assert.equal(metadataAnswer('/latest/meta-data/nothing', inst).status, 404);
});

test('user data: served as Nova serves it (the decoded bytes) and listed only when the instance has some', () => {
  const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff]); // gzip's magic: user data may be binary
  const withData = { ...inst, userData: bytes.toString('base64') };
  for (const path of ['/openstack/latest/user_data', '/latest/user-data']) {
    const a = metadataAnswer(path, withData);
    assert.equal(a.status, 200);
    assert.deepEqual(Buffer.from(a.body), bytes);
    assert.equal(metadataAnswer(path, inst).status, 404);
  }
  assert.equal(String(metadataAnswer('/openstack/latest', withData).body), 'meta_data.json\nuser_data\nnetwork_data.json');
  assert.equal(String(metadataAnswer('/openstack/latest', inst).body), 'meta_data.json\nnetwork_data.json');
  assert.equal(String(metadataAnswer('/latest', withData).body), 'meta-data/\nuser-data');
  assert.equal(String(metadataAnswer('/latest/', inst).body), 'meta-data/');
  assert.throws(() => checkUserData('A'.repeat(65536)), /User data too large/);
});

test('haproxy configuration: the unlimited template, rendered as Neutron renders it', () => {
  const text = haproxyConfig({ resource: { kind: 'Router', id: 'r1' }, host: '0.0.0.0', port: 9697, facts: md(), pidFile: '/p' });
  assert.ok(text.startsWith('\nglobal\n    log         /dev/log local0 info\n    log-tag     haproxy-metadata-proxy-r1\n'));
  assert.match(text, /\nlisten listener\n {4}bind 0\.0\.0\.0:9697\n {4}\n {4}server metadata \/var\/lib\/neutrino\/metadata_proxy\n\n/);
});

test('[metadata_rate_limiting]: off by default; on for one address family, haproxy counts each source in two windows and answers 429', () => {
  const base = '[DEFAULT]\nhost = n1\nstate_path = /s\n[vxlan]\nenable_vxlan = false\n';
  const facts = (text: string) => metadataFacts(parseAgentConfig(base + text), { user: 'root', group: 'root' });
  assert.equal(facts('').rateLimit, null);
  assert.equal(facts('[metadata_rate_limiting]\nbase_query_rate_limit = 5\n').rateLimit, null, 'rate_limit_enabled is false by default');
  const on = facts('[metadata_rate_limiting]\nrate_limit_enabled = true\nbase_window_duration = 20\nburst_query_rate_limit = 3\n');
  assert.deepEqual(on.rateLimit, { ipVersion: 4, baseWindow: 20, baseLimit: 10, burstWindow: 10, burstLimit: 3 });
  // Both families at once: Neutron warns and does not limit (haproxy's stick tables take one type).
  const both = parseAgentConfig(base + '[metadata_rate_limiting]\nrate_limit_enabled = true\nip_versions = 4,6\n');
  assert.match(rateLimitingProblem(both.metadata.rateLimiting)!, /cannot be enabled for IPv4 and IPv6 at the same time/);
  assert.equal(metadataFacts(both, { user: 'root', group: 'root' }).rateLimit, null);
  assert.equal(facts('[metadata_rate_limiting]\nrate_limit_enabled = true\nip_versions = 6\n').rateLimit?.ipVersion, 6);
  assert.throws(() => parseAgentConfig(base + '[metadata_rate_limiting]\nip_versions = 5\n'), /takes 4 and 6 only/);
  assert.throws(() => parseAgentConfig(base + '[metadata_rate_limiting]\nbase_window_duration = 0\n'), /at least 1/);
  // The lab's agent.ini carries the section (only when it differs from the defaults) and reads back the same.
  const withIp = base.replace('enable_vxlan = false', 'local_ip = 10.0.0.1');
  const rendered = renderAgentConfig(
    parseAgentConfig(withIp + '[metadata_rate_limiting]\nrate_limit_enabled = true\nbase_query_rate_limit = 4\n'),
  );
  assert.deepEqual(parseAgentConfig(rendered).metadata.rateLimiting.baseQueryRateLimit, 4);
  assert.doesNotMatch(renderAgentConfig(parseAgentConfig(withIp)), /metadata_rate_limiting/);

  const text = haproxyConfig({ resource: { kind: 'Network', id: 'n1' }, host: '169.254.169.254', port: 80, facts: on, pidFile: '/p' });
  assert.ok(
    text.includes(`
backend base_rate_limiter
    stick-table type ip size 10k expire 20s store http_req_rate(20s)

backend burst_rate_limiter
    stick-table type ip size 10k expire 20s store http_req_rate(10s)

listen listener
    bind 169.254.169.254:80
    

    http-request track-sc0 src table base_rate_limiter
    http-request track-sc1 src table burst_rate_limiter
    http-request deny deny_status 429 if { src_http_req_rate(base_rate_limiter) gt 10 }
    http-request deny deny_status 429 if { src_http_req_rate(burst_rate_limiter) gt 3 }

    server metadata /s/metadata_proxy

    http-request del-header X-Neutron-Router-ID
    http-request set-header X-Neutron-Network-ID n1
`),
    text,
  );
});

test('a proxy whose configuration changes is restarted (haproxy reads it only at start); dnsmasq gets SIGHUP', () => {
  const ns = 'qdhcp-x' as NsKey;
  const proc = { id: 'haproxy-n1', argv: ['haproxy', '-f', '/c'], pidFile: '/p', files: [{ path: '/c', content: 'new' }] };
  const have = (p: typeof proc): ObservedNamespace =>
    ({
      processes: [{ id: p.id, pidFile: p.pidFile, pid: 7, argv: p.argv, files: [{ path: '/c', content: 'old' }] }],
    }) as unknown as ObservedNamespace;
  const want = (p: ProcessSpec): DesiredNamespace => ({ processes: [p] }) as unknown as DesiredNamespace;
  assert.deepEqual(
    diffProcesses(ns, want({ ...proc, onNewFiles: 'restart' }), have(proc)).map((o) => o.op),
    ['proc-stop', 'proc-start'],
  );
  assert.deepEqual(
    diffProcesses(ns, want(proc), have(proc)).map((o) => o.op),
    ['proc-reload'],
  );
});

test("a daemon binding an IPv6 address waits for it: `ip -j addr`'s tentative and dadfailed flags read", () => {
  const ipJson = (flags: Record<string, boolean>) =>
    JSON.stringify([{ ifname: 'ns-a', addr_info: [{ family: 'inet6', local: 'fe80::a9fe:a9fe', prefixlen: 128, ...flags }, {}] }]);
  assert.equal(addressState(ipJson({}), 'fe80::a9fe:a9fe'), 'ready');
  assert.equal(addressState(ipJson({ tentative: true }), 'fe80::a9fe:a9fe'), 'tentative');
  assert.equal(addressState(ipJson({ tentative: true, dadfailed: true }), 'fe80::a9fe:a9fe'), 'dadfailed');
  assert.equal(addressState(ipJson({}), 'fe80::1'), 'absent');
  assert.equal(addressState('', 'fe80::1'), 'absent');
});
