// The L3 role end to end as root (routers and floating IPs): a lab
// (controller with the L3 role and the provider NIC eth2 to the external host 10.123.123.1,
// compute1), the provider and self-service networks, a router with a gateway and an interface, an
// instance on compute1. It reaches the external host with its source rewritten to the router's
// gateway address (SNAT), or to its floating IP once associated (announced by gratuitous ARP); the
// floating IP moves to a second instance and stops with disassociation, established flows included;
// removing the router's interface cuts the instance off; hand-made drift is repaired; an L3 agent
// restart loses at most one reply; the router namespace carries Neutron's names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { createLabProvider, eventually, labUpAsAdmin } from '../helpers/lab.ts';
import type { InstanceJson, IpLink, LabStatusJson, OpenStackPortRow, OpenStackRow } from '../helpers/shapes.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `l${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-l3-lab-'));
const L = ['--lab', lab, '--state-root', root];

let env: NodeJS.ProcessEnv;
let routerId = '';
let vm: InstanceJson;
let fipId = '';
const FIP = '10.123.123.104';
const external = `${lab}-external`;
/** Long-running helpers (listeners, tcpdump, ping) started in the lab's namespaces; ended by PID in after(). */
const started: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });

const fromInstance = async (ip: string) =>
  (await neutrino(['instance', 'exec', ...L, 'vm', '--', 'ping', '-c', '1', '-W', '1', ip])).code === 0;
const fromExternal = async (ip: string) =>
  (await neutrino(['lab', 'exec', ...L, 'external', '--', 'ping', '-c', '1', '-W', '1', ip])).code === 0;

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
});

after(async () => {
  if (skip) return;
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(
    !left.split('\n').some((l) => l.startsWith(`${lab}-`) || (routerId && l.startsWith(`qrouter-${routerId}`))),
    `namespaces left: ${left}`,
  );
  rmSync(root, { recursive: true, force: true });
});

test('router with gateway and interface: the instance on compute1 reaches the external host', { skip, timeout: 240_000 }, async () => {
  createLabProvider(openstack);
  openstack('network', 'create', '--project', 'demo', 'selfservice');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
  const router = openstack('router', 'create', '--project', 'demo', 'router');
  routerId = router.id;
  openstackRaw('router', 'set', '--external-gateway', 'provider', 'router');
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice');
  await neutrinoOk(['instance', 'create', ...L, 'vm', '--network', 'selfservice', '--host', 'compute1'], 60_000);
  vm = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm')!;
  await eventually('the instance pings the external host', () => fromInstance('10.123.123.1'));

  // The router's namespace on the controller, with Neutron's devices and chains.
  const ports = openstack('port', 'list', '--device-id', routerId, '--long') as OpenStackPortRow[];
  assert.equal(ports.length, 2);
  const gw = ports.find((p) => p['Device Owner'] === 'network:router_gateway')!;
  const intf = ports.find((p) => p['Device Owner'] === 'network:router_interface')!;
  const ns = `qrouter-${routerId}`;
  const devs = execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' });
  assert.match(devs, new RegExp(`qg-${gw.ID.slice(0, 11)}`));
  assert.match(devs, new RegExp(`qr-${intf.ID.slice(0, 11)}`));
  const nat = execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
  assert.match(nat, new RegExp(`-A neutron-l3-agent-snat -o qg-${gw.ID.slice(0, 11)} -j SNAT --to-source 10\\.123\\.123\\.\\d+`));
  await eventually('router ports ACTIVE', async () =>
    (openstack('port', 'list', '--device-id', routerId, '--long') as OpenStackPortRow[]).every((p) => p.Status === 'ACTIVE'),
  );
});

test('a floating IP makes the instance reachable from the external host; disassociating stops it', { skip, timeout: 120_000 }, async () => {
  // Allow ICMP to the instance (its default security group).
  const groups = openstack('security', 'group', 'list', '--project', 'demo') as OpenStackRow[];
  const def = groups.find((g) => g.Name === 'default');
  if (def) openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', def.ID);
  const fip = openstack('floating', 'ip', 'create', '--project', 'demo', '--floating-ip-address', '10.123.123.104', 'provider');
  fipId = fip.id;
  assert.equal(await fromExternal('10.123.123.104'), false, 'not reachable before association');
  openstackRaw('floating', 'ip', 'set', '--port', vm.port_id, fip.id);
  await eventually('the external host pings the floating IP', () => fromExternal('10.123.123.104'));
  const nat = execFileSync('ip', ['netns', 'exec', `qrouter-${routerId}`, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
  assert.match(
    nat,
    new RegExp(`-A neutron-l3-agent-PREROUTING -d 10\\.123\\.123\\.104/32 -j DNAT --to-destination ${vm.ip!.replace(/\./g, '\\.')}`),
  );
  await eventually('floating IP ACTIVE', async () => openstack('floating', 'ip', 'show', fip.id).status === 'ACTIVE');
  openstackRaw('floating', 'ip', 'unset', '--port', fip.id);
  await eventually('traffic to the floating IP stops', async () => !(await fromExternal('10.123.123.104')));
  await eventually('floating IP DOWN', async () => openstack('floating', 'ip', 'show', fip.id).status === 'DOWN');
  assert.ok(await fromInstance('10.123.123.1'), 'SNAT still works');
});

// ---------------------------------------------------------------- routers and floating IPs, further

/** Runs `argv` in a lab namespace (ours: the external host, an instance) in the background. */
function startIn(ns: string, argv: string[]): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(c);
  return c;
}

/** A TCP server in `ns` on `port` that answers every connection with `reply(peer address)` and closes it. */
async function listener(ns: string, port: number, reply: 'peer' | string): Promise<void> {
  const body = reply === 'peer' ? 's.remoteAddress' : JSON.stringify(reply);
  const c = startIn(ns, [
    process.execPath,
    '-e',
    `require('net').createServer((s) => s.end(${body} + '\\n')).listen(${port}, '0.0.0.0', () => console.log('ready'))`,
  ]);
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('exit', (code) => reject(new Error(`listener in ${ns} exited ${code}`)));
  });
}

/** What a TCP connection from `ns` to host:port reads (the listener's answer), or null when it does not connect. */
const connect = (ns: string, host: string, port: number) =>
  new Promise<string | null>((resolve) =>
    execFile('ip', ['netns', 'exec', ns, 'nc', '-d', '-w', '2', host, String(port)], { timeout: 5000 }, (err, stdout) =>
      resolve(err || !stdout.trim() ? null : stdout.trim()),
    ),
  );

const routerNs = () => `qrouter-${routerId}`;
const inRouter = (...argv: string[]) => execFileSync('ip', ['netns', 'exec', routerNs(), ...argv], { encoding: 'utf8' });
const routerPorts = () => {
  const ports = openstack('port', 'list', '--device-id', routerId, '--long') as OpenStackPortRow[];
  return {
    gw: ports.find((p) => p['Device Owner'] === 'network:router_gateway')!,
    intf: ports.find((p) => p['Device Owner'] === 'network:router_interface')!,
  };
};
const gatewayIp = (gw: OpenStackPortRow): string => {
  const fixed = gw['Fixed IP Addresses'];
  const list =
    typeof fixed === 'string'
      ? [...fixed.matchAll(/ip_address='([\d.]+)'/g)].map((m) => m[1])
      : (fixed as Array<{ ip_address: string }>).map((f) => f.ip_address);
  return list.find((ip: string) => ip.startsWith('10.123.123.'))!;
};
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

test(
  'the external host sees the instance as the gateway address (SNAT), as 10.123.123.104 once the floating IP is associated; the association is announced by gratuitous ARP',
  { skip, timeout: 120_000 },
  async () => {
    const { gw } = routerPorts();
    const gwIp = gatewayIp(gw);
    assert.match(gwIp, /^10\.123\.123\.\d+$/);
    // The external host reports the peer of each connection: that is the source address after the router.
    await listener(external, 7001, 'peer');
    assert.equal(
      await eventually('the instance connects to the external host', () => connect(vm.namespace, '10.123.123.1', 7001)),
      gwIp,
      'SNAT to the gateway address',
    );

    // tcpdump on the external host's NIC while the floating IP is associated.
    const dump = startIn(external, ['tcpdump', '-l', '-n', '-e', '-i', 'eth0', 'arp']);
    let arp = '';
    dump.stdout!.on('data', (d) => (arp += d));
    await new Promise<void>((resolve) => dump.stderr!.on('data', (d) => String(d).includes('listening on') && resolve()));
    openstackRaw('floating', 'ip', 'set', '--port', vm.port_id, fipId);
    await eventually(
      'the gratuitous ARP for 10.123.123.104 at the external host',
      async () => /who-has 10\.123\.123\.104 (\(\S+\) )?tell 10\.123\.123\.104/.test(arp),
      10_000,
    );
    // arping -A follows -U: the reply names the gateway port's MAC as the owner.
    await eventually(
      'the ARP announcement reply',
      async () => new RegExp(`Reply 10\\.123\\.123\\.104 is-at ${gw['MAC Address']}`).test(arp),
      10_000,
    );
    dump.kill('SIGTERM');
    assert.equal(
      await eventually(
        'the instance connects from its floating IP',
        async () => (await connect(vm.namespace, '10.123.123.1', 7001)) === FIP && FIP,
      ),
      FIP,
    );
    assert.ok(await fromExternal(FIP), 'the floating IP answers');
  },
);

test(
  "the router's namespace: Neutron's devices and NAT chains (qr-/qg- devices, neutron-l3-agent-* chains); router status ACTIVE as Neutron reports a legacy router",
  { skip },
  async () => {
    const { gw, intf } = routerPorts();
    const qg = `qg-${gw.ID.slice(0, 11)}`;
    const qr = `qr-${intf.ID.slice(0, 11)}`;
    const links = JSON.parse(execFileSync('ip', ['-n', routerNs(), '-j', 'link', 'show'], { encoding: 'utf8' })) as IpLink[];
    assert.deepEqual(links.map((l) => l.ifname).sort(), ['lo', qg, qr].sort());
    assert.equal(links.find((l) => l.ifname === qg)?.address, gw['MAC Address']);
    assert.equal(links.find((l) => l.ifname === qr)?.address, intf['MAC Address']);
    // The veths' other ends: tap<port[:11]> in the networks' bridges on the controller.
    const nets = Object.fromEntries((openstack('network', 'list') as OpenStackRow[]).map((n) => [n.Name, n.ID]));
    const hostLinks = JSON.parse(await neutrinoOk(['lab', 'exec', ...L, 'controller', '--', 'ip', '-j', 'link', 'show'])) as IpLink[];
    assert.equal(hostLinks.find((l) => l.ifname === `tap${gw.ID.slice(0, 11)}`)?.master, `brq${nets.provider.slice(0, 11)}`);
    assert.equal(hostLinks.find((l) => l.ifname === `tap${intf.ID.slice(0, 11)}`)?.master, `brq${nets.selfservice.slice(0, 11)}`);
    const addrs = (
      JSON.parse(execFileSync('ip', ['-n', routerNs(), '-j', '-4', 'addr', 'show', 'dev', qg], { encoding: 'utf8' })) as IpLink[]
    )[0].addr_info!.map((a) => `${a.local}/${a.prefixlen}`);
    assert.deepEqual(addrs.sort(), [`${gatewayIp(gw)}/24`, `${FIP}/32`].sort());

    const nat = inRouter('iptables', '-t', 'nat', '-S');
    for (const chain of ['PREROUTING', 'OUTPUT', 'POSTROUTING', 'float-snat', 'snat'])
      assert.match(nat, new RegExp(`^-N neutron-l3-agent-${chain}$`, 'm'));
    const rules = [
      '-A PREROUTING -j neutron-l3-agent-PREROUTING',
      '-A OUTPUT -j neutron-l3-agent-OUTPUT',
      '-A POSTROUTING -j neutron-l3-agent-POSTROUTING',
      '-A POSTROUTING -j neutron-postrouting-bottom',
      `-A neutron-l3-agent-PREROUTING -d ${FIP}/32 -j DNAT --to-destination ${vm.ip}`,
      `-A neutron-l3-agent-OUTPUT -d ${FIP}/32 -j DNAT --to-destination ${vm.ip}`,
      `-A neutron-l3-agent-POSTROUTING ! -o ${qg} -m conntrack ! --ctstate DNAT -j ACCEPT`,
      `-A neutron-l3-agent-float-snat -s ${vm.ip}/32 -j SNAT --to-source ${FIP} --random-fully`,
      '-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat',
      `-A neutron-l3-agent-snat -o ${qg} -j SNAT --to-source ${gatewayIp(gw)} --random-fully`,
      '-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat',
    ];
    for (const rule of rules) assert.ok(nat.split('\n').includes(rule), `missing: ${rule}\n${nat}`);
    assert.ok(
      inRouter('iptables', '-t', 'mangle', '-S').split('\n').includes(`-A neutron-l3-agent-mark -i ${qg} -j MARK --set-xmark 0x2/0xffff`),
    );
    assert.equal(inRouter('sysctl', '-n', 'net.ipv4.ip_forward').trim(), '1');
    // l3_db creates a router ACTIVE and no agent changes it for legacy routers (only HA uses ALLOCATING).
    assert.equal(openstack('router', 'show', routerId).status, 'ACTIVE');
  },
);

test(
  'drift in the router namespace: a qr- device, the floating IP address on qg-, the DNAT rule removed by hand come back within seconds',
  { skip, timeout: 120_000 },
  async () => {
    const { gw, intf } = routerPorts();
    const qg = `qg-${gw.ID.slice(0, 11)}`;
    const qr = `qr-${intf.ID.slice(0, 11)}`;
    // The agent resyncs every 3 s in the lab (resync_interval); a deleted veth end is a link event at once.
    const within = (what: string, fn: () => Promise<boolean>) => eventually(what, fn, 8_000);
    execFileSync('ip', ['-n', routerNs(), 'link', 'del', qr]);
    await within(
      'the qr- device back, the instance reaching the external host',
      async () =>
        execFileSync('ip', ['-n', routerNs(), '-o', 'link', 'show'], { encoding: 'utf8' }).includes(`${qr}@`) &&
        fromInstance('10.123.123.1'),
    );
    execFileSync('ip', ['-n', routerNs(), 'addr', 'del', `${FIP}/32`, 'dev', qg]);
    await within('the floating IP address back on qg-', async () =>
      execFileSync('ip', ['-n', routerNs(), '-4', '-o', 'addr', 'show', 'dev', qg], { encoding: 'utf8' }).includes(`${FIP}/32`),
    );
    await eventually('the floating IP answering again', () => fromExternal(FIP), 5_000);
    const dnat = `-d ${FIP}/32 -j DNAT --to-destination ${vm.ip}`;
    inRouter('iptables', '-t', 'nat', '-D', 'neutron-l3-agent-PREROUTING', ...dnat.split(' '));
    await within('the DNAT rule back', async () => inRouter('iptables', '-t', 'nat', '-S', 'neutron-l3-agent-PREROUTING').includes(dnat));
    assert.ok(await fromExternal(FIP), 'the floating IP answers');
  },
);

test(
  'restarting the L3 agent (controller) during a continuous ping through the floating IP loses at most one reply',
  { skip, timeout: 120_000 },
  async () => {
    const status = JSON.parse(await neutrinoOk(['lab', 'status', ...L, '--json'])) as LabStatusJson;
    const controller = status.nodes.find((n) => n.name === 'controller')!;
    const pinger = startIn(external, ['ping', '-c', '40', '-i', '0.2', '-W', '1', FIP]);
    let out = '';
    pinger.stdout!.on('data', (d) => (out += d));
    const done = new Promise<void>((r) => pinger.on('exit', () => r()));
    await sleep(1500);
    process.kill(controller.agentPid!, 'SIGTERM');
    await sleep(500);
    await neutrinoOk(['lab', 'restart-agent', ...L, 'controller']);
    await done;
    const received = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    assert.ok(received >= 39, `lost ${40 - received} replies during the L3 agent restart:\n${out}`);
  },
);

test(
  'the floating IP moves to a second instance; disassociating stops traffic, an established flow included',
  { skip, timeout: 180_000 },
  async () => {
    const def = (openstack('security', 'group', 'list', '--project', 'demo') as OpenStackRow[]).find((g) => g.Name === 'default')!;
    openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '7002', def.ID);
    // The second instance on the controller, next to the router.
    await neutrinoOk(['instance', 'create', ...L, 'vm2', '--network', 'selfservice', '--host', 'controller'], 60_000);
    const vm2 = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm2')!;
    // Each instance answers with its name: that tells which one the floating IP reaches.
    await listener(vm.namespace, 7002, 'vm');
    await listener(vm2.namespace, 7002, 'vm2');
    await eventually('the floating IP reaches vm', async () => (await connect(external, FIP, 7002)) === 'vm');

    openstackRaw('floating', 'ip', 'set', '--port', vm2.port_id, fipId);
    await eventually('the floating IP reaches vm2', async () => (await connect(external, FIP, 7002)) === 'vm2');
    assert.ok(await fromExternal(FIP), 'ping answers through the moved floating IP');
    assert.equal(
      await eventually('vm2 leaves from the floating IP', async () => (await connect(vm2.namespace, '10.123.123.1', 7001)) === FIP && FIP),
      FIP,
    );
    const { gw } = routerPorts();
    assert.equal(await connect(vm.namespace, '10.123.123.1', 7001), gatewayIp(gw), 'vm is back to the gateway address');
    await eventually('floating IP ACTIVE', async () => openstack('floating', 'ip', 'show', fipId).status === 'ACTIVE');

    // A continuous ping is one established flow: the router drops its conntrack state with the address.
    const pinger = startIn(external, ['ping', '-i', '0.2', '-W', '1', FIP]);
    let out = '';
    pinger.stdout!.on('data', (d) => (out += d));
    await eventually('the continuous ping answered', async () => count(out, /bytes from/g) >= 3);
    openstackRaw('floating', 'ip', 'unset', '--port', fipId);
    await eventually(
      'DNAT rule and address gone',
      async () => !inRouter('iptables', '-t', 'nat', '-S').includes(FIP) && !inRouter('ip', '-4', '-o', 'addr').includes(`${FIP}/32`),
    );
    await sleep(1000);
    const replies = count(out, /bytes from/g);
    await sleep(3000);
    pinger.kill('SIGTERM');
    assert.equal(count(out, /bytes from/g), replies, `the established ping went on after disassociation:\n${out}`);
    assert.equal(await connect(external, FIP, 7002), null, 'no new connection either');
    await eventually('floating IP DOWN', async () => openstack('floating', 'ip', 'show', fipId).status === 'DOWN');
  },
);

test("removing the router's interface cuts the instance off; adding it back restores it", { skip, timeout: 150_000 }, async () => {
  // An interface that a floating IP needs cannot be removed (RouterInterfaceInUseByFloatingIP).
  if (openstack('floating', 'ip', 'show', fipId).port_id) openstackRaw('floating', 'ip', 'unset', '--port', fipId);
  assert.ok(await fromInstance('10.123.123.1'), 'reachable before');
  const { intf } = routerPorts();
  openstackRaw('router', 'remove', 'subnet', 'router', 'selfservice');
  await eventually(
    'the qr- device gone',
    async () => !execFileSync('ip', ['-n', routerNs(), '-o', 'link', 'show'], { encoding: 'utf8' }).includes(`qr-${intf.ID.slice(0, 11)}`),
  );
  assert.equal(await fromInstance('10.123.123.1'), false, 'cut off without the interface');
  assert.equal(await connect(vm.namespace, '10.123.123.1', 7001), null);
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice');
  // A new port (new MAC) holds 172.16.1.1 again. With Neutron's default ([vxlan] arp_responder off)
  // ARP crosses the VXLAN tunnel, so the router's gratuitous ARP for 172.16.1.1 updates the
  // instance's neighbour entry at once: it reaches the outside again within the reconcile budget,
  // not after its old entry for the gateway ages out (up to ~45 s).
  const again = await eventually('a new interface port', async () => routerPorts().intf);
  assert.notEqual(again.ID, intf.ID);
  await eventually('the new qr- device holding 172.16.1.1', async () =>
    execFileSync('ip', ['-n', routerNs(), '-4', '-o', 'addr', 'show', 'dev', `qr-${again.ID.slice(0, 11)}`], { encoding: 'utf8' }).includes(
      '172.16.1.1/24',
    ),
  );
  await eventually('the instance reaches the external host again', () => fromInstance('10.123.123.1'), 15_000);
  assert.match(
    await neutrinoOk(['instance', 'exec', ...L, 'vm', '--', 'ip', 'neigh', 'show', '172.16.1.1']),
    new RegExp(again['MAC Address'].replace(/:/g, ':')),
    "the instance holds the new interface's MAC",
  );
  const { gw } = routerPorts();
  assert.equal(await connect(vm.namespace, '10.123.123.1', 7001), gatewayIp(gw), 'SNAT again');
});
