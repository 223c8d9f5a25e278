// IPv6 end to end as root, driven with the real `openstack` CLI and `neutrino instance create|exec`:
// a lab (controller with the L3 role and the provider NIC to the external host, compute1); a
// dual-stack provider network (the external host gets 2001:db8:ff::1 on it, in its own namespace,
// and routes the tenant prefixes via the router's gateway IPv6 address); network `v6a` with a SLAAC
// subnet (instances `a` on the controller and `b` on compute1), network `v6b` with a DHCPv6-stateful
// subnet (instance `c`), both IPv6 only and on one router. SLAAC gives the port's EUI-64 address,
// DHCPv6 exactly the port's fixed address; instances reach each other over VXLAN and across the
// router, and the external host without NAT; a security group admits ICMPv6 and a TCP port by rule;
// a spoofed IPv6 source never arrives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { createLabProvider, eventually, labUpAsAdmin } from '../helpers/lab.ts';
import type { InstanceJson, OpenStackPortRow } from '../helpers/shapes.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `v${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-ipv6-lab-'));
const L = ['--lab', lab, '--state-root', root];
const external = `${lab}-external`;
const EXTERNAL_V6 = '2001:db8:ff::1';
const PREFIX_A = '2001:db8:1::/64';
const PREFIX_B = '2001:db8:2::/64';
/** A rule change reaches the kernel within the agent's reconcile budget: "a few seconds". */
const FEW_SECONDS = 5000;

let env: NodeJS.ProcessEnv;
let routerId = '';
const netIds: string[] = [];
/** Each instance's IPv6 address as its port holds it (Neutron's EUI-64 for SLAAC, the allocation for DHCPv6). */
const v6: Record<string, string> = {};
/** Long-running helpers (listeners, tcpdump) started in the lab's namespaces; ended by PID in after(). */
const started: ChildProcess[] = [];

const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
const exec = (vm: string, argv: string[], timeoutMs = 20_000) => neutrino(['instance', 'exec', ...L, vm, '--', ...argv], timeoutMs);
const nsOf = (vm: string) => `${lab}-i-${vm}`;
const ping6 = async (ns: string, dst: string, extra: string[] = []) =>
  new Promise<boolean>((resolve) =>
    execFile('ip', ['netns', 'exec', ns, 'ping', '-6', '-c', '1', '-W', '1', ...extra, dst], { timeout: 5000 }, (err) => resolve(!err)),
  );

/** What a TCP connection from `ns` to [host]:port reads (the listener's answer), or null when it does not connect. */
const connect = (ns: string, host: string, port: number) =>
  new Promise<string | null>((resolve) =>
    execFile('ip', ['netns', 'exec', ns, 'nc', '-6', '-d', '-w', '2', host, String(port)], { timeout: 5000 }, (err, stdout) =>
      resolve(err || !stdout.trim() ? null : stdout.trim()),
    ),
  );

/** Runs `argv` in a lab namespace in the background. */
function startIn(ns: string, argv: string[]): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(c);
  return c;
}

/** A TCP server in `ns` on [::]:port answering every connection with the peer's address (IPv6 only). */
async function listener(ns: string, port: number): Promise<void> {
  const c = startIn(ns, [
    process.execPath,
    '-e',
    `require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen({ port: ${port}, host: '::', ipv6Only: true }, () => console.log('ready'))`,
  ]);
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('exit', (code) => reject(new Error(`listener in ${ns} exited ${code}`)));
  });
}

/** tcpdump in `ns` on eth0 for `filter`, until stopped; its lines so far. */
async function capture(ns: string, filter: string): Promise<{ text: () => string; stop: () => void }> {
  const c = startIn(ns, ['tcpdump', '-l', '-n', '-i', 'eth0', filter]);
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => c.stderr!.on('data', (d) => String(d).includes('listening on') && resolve()));
  return { text: () => out, stop: () => c.kill('SIGTERM') };
}

const instances = async () => JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[];
const fixedIps = (p: OpenStackPortRow | Record<string, unknown>): string[] => {
  const fixed = (p as Record<string, unknown>)['Fixed IP Addresses'] ?? (p as Record<string, unknown>).fixed_ips;
  return typeof fixed === 'string'
    ? [...fixed.matchAll(/ip_address='([^']+)'/g)].map((m) => m[1])
    : (fixed as Array<{ ip_address: string }>).map((f) => f.ip_address);
};

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
  createLabProvider(openstack);
  openstack(
    'subnet',
    'create',
    '--network',
    'provider',
    '--ip-version',
    '6',
    '--subnet-range',
    '2001:db8:ff::/64',
    '--gateway',
    EXTERNAL_V6,
    '--allocation-pool',
    'start=2001:db8:ff::100,end=2001:db8:ff::1ff',
    '--no-dhcp',
    'provider-v6',
  );
  for (const [net, prefix, mode] of [
    ['v6a', PREFIX_A, 'slaac'],
    ['v6b', PREFIX_B, 'dhcpv6-stateful'],
  ] as const) {
    netIds.push(openstack('network', 'create', '--project', 'demo', net).id);
    openstack(
      'subnet',
      'create',
      '--project',
      'demo',
      '--network',
      net,
      '--ip-version',
      '6',
      '--ipv6-ra-mode',
      mode,
      '--ipv6-address-mode',
      mode,
      '--subnet-range',
      prefix,
      net,
    );
  }
  routerId = openstack('router', 'create', '--project', 'demo', 'router').id;
  openstackRaw('router', 'set', '--external-gateway', 'provider', 'router');
  openstackRaw('router', 'add', 'subnet', 'router', 'v6a');
  openstackRaw('router', 'add', 'subnet', 'router', 'v6b');
  await Promise.all(
    [
      ['a', 'v6a', 'controller'],
      ['b', 'v6a', 'compute1'],
      ['c', 'v6b', 'compute1'],
    ].map(([name, net, host]) => neutrinoOk(['instance', 'create', ...L, name, '--network', net, '--host', host], 60_000)),
  );
  for (const i of await instances()) {
    v6[i.name] = fixedIps(openstack('port', 'show', i.port_id))[0]!;
  }
});

after(async () => {
  if (skip) return;
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(
    !left
      .split('\n')
      .some(
        (l) =>
          l.startsWith(`${lab}-`) || (routerId && l.startsWith(`qrouter-${routerId}`)) || netIds.some((n) => l.startsWith(`qdhcp-${n}`)),
      ),
    `namespaces left: ${left}`,
  );
  rmSync(root, { recursive: true, force: true });
});

test(
  "SLAAC instances on two nodes reach each other over VXLAN; the DHCPv6-stateful instance holds exactly its port's address",
  { skip, timeout: 120_000 },
  async () => {
    assert.match(v6.a!, /^2001:db8:1:/);
    assert.match(v6.c!, /^2001:db8:2:/);
    // SLAAC from radvd's advertisements: the EUI-64 address Neutron gave the port.
    await eventually('a and b hold their SLAAC addresses', async () => {
      const byName = Object.fromEntries((await instances()).map((i) => [i.name, i.addresses]));
      return byName.a?.includes(v6.a!) && byName.b?.includes(v6.b!);
    });
    await eventually('a pings b over IPv6 (controller → compute1)', () => ping6(nsOf('a'), v6.b!));
    assert.ok(await ping6(nsOf('b'), v6.a!), 'b pings a');
    // DHCPv6: one /128, the port's fixed address and nothing else global (the prefix is not autonomous).
    const c = (await instances()).find((i) => i.name === 'c')!;
    assert.deepEqual(c.addresses, [v6.c], `c's addresses: ${c.addresses.join(', ')}`);
    const onC = await neutrinoOk(['instance', 'exec', ...L, 'c', '--', 'ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
    assert.match(onC, new RegExp(`inet6 ${v6.c!.replace(/:/g, ':')}/128`));
  },
);

test('the router routes between the two IPv6 networks and to the external host, without NAT', { skip, timeout: 120_000 }, async () => {
  // The gateway port holds an address on the IPv6 provider subnet; the external host routes the
  // tenant prefixes to it (the lab's external host namespace only).
  const gw = (openstack('port', 'list', '--device-id', routerId, '--long') as OpenStackPortRow[]).find(
    (p) => p['Device Owner'] === 'network:router_gateway',
  )!;
  const gwV6 = fixedIps(gw).find((a) => a.startsWith('2001:db8:ff:'));
  assert.ok(gwV6, `the gateway port has an IPv6 address: ${fixedIps(gw).join(', ')}`);
  execFileSync('ip', ['-n', external, '-6', 'addr', 'replace', `${EXTERNAL_V6}/64`, 'dev', 'eth0', 'nodad']);
  for (const prefix of [PREFIX_A, PREFIX_B]) execFileSync('ip', ['-n', external, '-6', 'route', 'replace', prefix, 'via', gwV6]);

  await eventually('a (SLAAC) pings c (DHCPv6) across the router', () => ping6(nsOf('a'), v6.c!));
  await eventually('b pings the external host', () => ping6(nsOf('b'), EXTERNAL_V6));
  assert.ok(await ping6(nsOf('c'), EXTERNAL_V6), 'c pings the external host');
  // The external host reports each connection's peer: the instance's own address, not the router's.
  await listener(external, 7001);
  assert.equal(await eventually('b connects to the external host', () => connect(nsOf('b'), EXTERNAL_V6, 7001)), v6.b);
  assert.equal(await connect(nsOf('c'), EXTERNAL_V6, 7001), v6.c);
  const nat = execFileSync('ip', ['netns', 'exec', `qrouter-${routerId}`, 'ip6tables', '-t', 'nat', '-S'], { encoding: 'utf8' });
  assert.doesNotMatch(nat, /SNAT|MASQUERADE/, `no IPv6 NAT in the router:\n${nat}`);
});

test(
  'a security group admits ICMPv6 and a TCP port by rule; another port stays closed until a rule opens it',
  { skip, timeout: 120_000 },
  async () => {
    openstack('security', 'group', 'create', '--project', 'demo', 'web6');
    /** An ingress IPv6 rule in web6. */
    const allow = (...rule: string[]) =>
      openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--ethertype', 'IPv6', ...rule, 'web6');
    allow('--protocol', 'tcp', '--dst-port', '7010');
    await neutrinoOk(['instance', 'create', ...L, 'web', '--network', 'v6a', '--host', 'compute1', '--security-group', 'web6'], 60_000);
    const port = (await instances()).find((i) => i.name === 'web')!.port_id;
    const addr = fixedIps(openstack('port', 'show', port))[0]!;
    await eventually('web holds its SLAAC address', async () =>
      (await instances()).find((i) => i.name === 'web')?.addresses.includes(addr),
    );
    await listener(nsOf('web'), 7010);
    await listener(nsOf('web'), 7011);
    // From the external host (through the router) and from `a` on the other node (over VXLAN).
    for (const from of [external, nsOf('a')]) {
      assert.ok(await eventually(`tcp/7010 from ${from}`, () => connect(from, addr, 7010)), `${from} → web tcp/7010`);
      assert.equal(await connect(from, addr, 7011), null, `${from} → web tcp/7011 is closed`);
      assert.equal(await ping6(from, addr), false, `${from} → web ICMPv6 echo is not allowed yet`);
    }
    allow('--protocol', 'ipv6-icmp');
    await eventually('ICMPv6 echo from the external host once allowed', () => ping6(external, addr), FEW_SECONDS);
    assert.ok(await ping6(nsOf('a'), addr), 'from a too');
    allow('--protocol', 'tcp', '--dst-port', '7011');
    await eventually('tcp/7011 opens once a rule allows it', () => connect(external, addr, 7011), FEW_SECONDS);
    assert.ok(await connect(nsOf('a'), addr, 7011), 'from a too');
  },
);

test('a spoofed IPv6 source from an instance is dropped; its real address arrives', { skip, timeout: 60_000 }, async () => {
  const spoofed = '2001:db8:1::bad';
  // b resolves a first: a neighbour solicitation from the spoofed source would be dropped as well,
  // and the echo request would then never leave b at all.
  assert.equal((await exec('b', ['ping', '-6', '-c', '1', '-W', '1', v6.a!])).code, 0, 'b reaches a');
  await neutrinoOk(['instance', 'exec', ...L, 'b', '--', 'ip', '-6', 'addr', 'add', `${spoofed}/64`, 'dev', 'eth0', 'nodad']);
  // At the receiver (a, on the other node): echo requests from either source.
  const seen = await capture(nsOf('a'), `icmp6 and ip6[40] == 128 and (src host ${spoofed} or src host ${v6.b})`);
  // At the sender: the spoofed echo requests do leave b's eth0 (it is the port's filter that drops them).
  const sent = await capture(nsOf('b'), `icmp6 and ip6[40] == 128 and src host ${spoofed}`);
  const spoof = await exec('b', ['ping', '-6', '-c', '2', '-i', '0.3', '-W', '1', '-I', spoofed, v6.a!]);
  const real = await exec('b', ['ping', '-6', '-c', '2', '-i', '0.3', '-W', '1', '-I', v6.b!, v6.a!]);
  await new Promise((r) => setTimeout(r, 1000));
  seen.stop();
  sent.stop();
  assert.match(sent.text(), new RegExp(`IP6 ${spoofed} > ${v6.a}: ICMP6, echo request`), `b sent the spoofed requests:\n${sent.text()}`);
  assert.notEqual(spoof.code, 0, 'no reply to the spoofed source');
  assert.equal(real.code, 0, real.stdout + real.stderr);
  assert.match(seen.text(), new RegExp(`IP6 ${v6.b} > ${v6.a}: ICMP6, echo request`), `the real source arrives:\n${seen.text()}`);
  assert.doesNotMatch(seen.text(), new RegExp(spoofed), `the spoofed source never arrives:\n${seen.text()}`);
});
