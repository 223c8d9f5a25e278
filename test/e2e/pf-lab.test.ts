// Floating IP port forwarding end to end as root, with real traffic: a lab (controller with the L3
// role and the provider NIC to the external host 10.123.123.1, compute1), a router between the
// provider and a self-service network, instance `vm` on compute1 with a TCP listener on port 22. A
// forwarding tcp/2222 on a free floating IP → vm:22 (made with the `openstack` CLI) lets the external
// host's connection to <fip>:2222 reach the listener, through Neutron's fip-pf / pf-<id> chains in
// qrouter- and the floating IP on qg-; the tracer finds no fault on the floating IP; deleted, the
// connection is refused and the chains and address are gone. Port ranges (through the API: this
// openstack CLI takes single ports only): 4021:4023 → 21:23 maps port by port (4022 reaches vm:22),
// and changed to one internal port, every external port of the range reaches vm:22 (N:1); the
// tracer walks port 4022 through the range to vm:22.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, neutrino, neutrinoOk } from '../helpers/neutrino-cli.ts';
import { haveOpenstack } from '../helpers/openstack.ts';
import { eventually, labUpAsAdmin } from '../helpers/lab.ts';
import { adminClient, loadLab } from '../../src/lab/context.ts';
import type { InstanceJson, OpenStackRow } from '../helpers/shapes.ts';

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOpenstack() ? 'needs the openstack CLI' : false;
const lab = `pf${process.pid % 100000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-pf-lab-'));
const L = ['--lab', lab, '--state-root', root];
const FIP = '10.123.123.110';

let env: NodeJS.ProcessEnv;
let routerId = '';
let vm: InstanceJson;
/** The listener in the instance; ended by PID in after(). */
let listener: ChildProcess | undefined;
const heard = join(root, 'listener.out');

const openstack = (...args: string[]) => {
  const out = execFileSync('openstack', [...args, '-f', 'json'], { env, encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : null;
};
const openstackRaw = (...args: string[]) => execFileSync('openstack', args, { env, encoding: 'utf8' });
const routerNat = () => execFileSync('ip', ['netns', 'exec', `qrouter-${routerId}`, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' });
const routerAddrs = () => execFileSync('ip', ['-n', `qrouter-${routerId}`, '-o', 'addr', 'show'], { encoding: 'utf8' });
/** A TCP connection from the external host to FIP:port sending `word`: true when it connected. */
const connectFromExternal = async (port: number, word: string) =>
  (await neutrino(['lab', 'exec', ...L, 'external', '--', 'sh', '-c', `echo ${word} | nc -N -w 2 ${FIP} ${port}`])).code === 0;

before(async () => {
  if (skip) return;
  env = await labUpAsAdmin(L);
  openstack('network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'provider', 'provider');
  openstack(
    ...['subnet', 'create', '--network', 'provider', '--subnet-range', '10.123.123.0/24', '--gateway', '10.123.123.1'],
    // The pool starts above the floating IP 10.123.123.110, so the router's random gateway cannot take it.
    ...['--allocation-pool', 'start=10.123.123.150,end=10.123.123.200', '--no-dhcp', 'provider'],
  );
  openstack('network', 'create', '--project', 'demo', 'selfservice');
  openstack('subnet', 'create', '--project', 'demo', '--network', 'selfservice', '--subnet-range', '172.16.1.0/24', 'selfservice');
  routerId = openstack('router', 'create', '--project', 'demo', 'router').id;
  openstackRaw('router', 'set', '--external-gateway', 'provider', 'router');
  openstackRaw('router', 'add', 'subnet', 'router', 'selfservice');
  const def = (openstack('security', 'group', 'list', '--project', 'demo') as OpenStackRow[]).find((g) => g.Name === 'default')!;
  openstackRaw('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '22', def.ID);
  await neutrinoOk(['instance', 'create', ...L, 'vm', '--network', 'selfservice', '--host', 'compute1'], 60_000);
  vm = (JSON.parse(await neutrinoOk(['instance', 'list', ...L, '--json'])) as InstanceJson[]).find((i) => i.name === 'vm')!;
  // Port 22 in the instance: what each connection sends lands in `heard`.
  listener = spawn('ip', ['netns', 'exec', vm.namespace, 'sh', '-c', `exec nc -l -k 22 >> ${heard}`], { stdio: 'ignore' });
});

after(async () => {
  if (skip) return;
  if (listener && listener.exitCode === null && listener.signalCode === null) listener.kill('SIGTERM');
  const down = await neutrino(['lab', 'down', ...L]);
  assert.equal(down.code, 0, down.stderr);
  rmSync(root, { recursive: true, force: true });
});

test(
  'a forwarding tcp/2222 → vm:22 carries the external host’s connection; deleted, it is refused',
  { skip, timeout: 300_000 },
  async () => {
    const fip = openstack('floating', 'ip', 'create', '--project', 'demo', '--floating-ip-address', FIP, 'provider');
    assert.equal(await connectFromExternal(2222, 'before'), false, 'nothing forwards yet');

    const pf = openstack(
      ...['floating', 'ip', 'port', 'forwarding', 'create', '--internal-ip-address', vm.ip!, '--port', vm.port_id],
      ...['--internal-protocol-port', '22', '--external-protocol-port', '2222', '--protocol', 'tcp', fip.id],
    );
    await eventually('the external host connects to the floating IP port 2222', () => connectFromExternal(2222, 'through-forwarding'));
    await eventually('the instance’s port 22 got the connection', async () => readFileSync(heard, 'utf8').includes('through-forwarding'));

    // Neutron's chains and the floating IP on qg-.
    const nat = routerNat();
    const chain = `neutron-l3-agent-pf-${pf.id.slice(0, 8)}`;
    assert.match(nat, /^-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-fip-pf$/m);
    assert.match(nat, new RegExp(`^-A neutron-l3-agent-fip-pf -j ${chain}$`, 'm'));
    const ip = vm.ip!.replace(/\./g, '\\.');
    assert.match(
      nat,
      new RegExp(`^-A ${chain} -d 10\\.123\\.123\\.110/32 -p tcp -m tcp --dport 2222 -j DNAT --to-destination ${ip}:22$`, 'm'),
    );
    assert.match(routerAddrs(), /qg-\S+\s+inet 10\.123\.123\.110\/32/);
    await eventually('floating IP ACTIVE', async () => openstack('floating', 'ip', 'show', fip.id).status === 'ACTIVE');
    assert.equal(await connectFromExternal(2223, 'other-port'), false, 'only the forwarded port');

    // The tracer walks the forwarding to the instance's port 22 and finds nothing wrong.
    const trace = await neutrino(['trace', 'fip', FIP, '--protocol', 'tcp', '--port', '2222', ...L]);
    assert.equal(trace.code, 0, trace.stdout + trace.stderr);
    assert.doesNotMatch(trace.stdout, /STOPPED AT|MISSING|MISMATCH/, trace.stdout);
    assert.match(trace.stdout, /DNAT/, trace.stdout);

    openstackRaw('floating', 'ip', 'port', 'forwarding', 'delete', fip.id, pf.id);
    await eventually('the connection is refused again', async () => !(await connectFromExternal(2222, 'after')));
    await eventually('the chains leave qrouter-', async () => !/fip-pf|pf-/.test(routerNat()));
    assert.doesNotMatch(routerAddrs(), /10\.123\.123\.110\//);
    assert.ok(!readFileSync(heard, 'utf8').includes('after'));

    // Port ranges, as the API takes them.
    const client = adminClient(loadLab({ lab, stateRoot: root }).state);
    const pfs = `/v2.0/floatingips/${fip.id}/port_forwardings`;
    const call = async (method: string, path: string, body: object) =>
      (await client.call<{ port_forwarding: { id: string } }>(method, path, body)).port_forwarding;
    const range = await call('POST', pfs, {
      port_forwarding: {
        internal_port_id: vm.port_id,
        internal_ip_address: vm.ip,
        protocol: 'tcp',
        external_port_range: '4021:4023',
        internal_port_range: '21:23',
      },
    });
    await eventually('N:N: 4022 reaches the instance’s port 22', () => connectFromExternal(4022, 'range-offset'));
    await eventually('the instance heard it', async () => readFileSync(heard, 'utf8').includes('range-offset'));
    const rangeChain = `neutron-l3-agent-pf-${range.id.slice(0, 8)}`;
    assert.match(
      routerNat(),
      new RegExp(
        `^-A ${rangeChain} -d 10\\.123\\.123\\.110/32 -p tcp -m tcp --dport 4021:4023 -j DNAT --to-destination ${ip}:21-23/4021$`,
        'm',
      ),
    );
    // The tracer takes the forwarding whose range holds the traced port, checks its DNAT with the
    // ranges and the security group at the port it maps to (4022 → 22).
    const traced = await neutrino(['trace', 'fip', FIP, '--protocol', 'tcp', '--port', '4022', '--json', ...L]);
    assert.equal(traced.code, 0, traced.stdout + traced.stderr);
    const report = JSON.parse(traced.stdout) as { ok: boolean; hops: Array<{ check: string; expected: Record<string, unknown> }> };
    assert.equal(report.ok, true, traced.stdout);
    assert.match(
      String(report.hops.find((h) => h.check === 'DNAT')?.expected['rule']),
      new RegExp(`^-A ${rangeChain} .*--dport 4021:4023 -j DNAT --to-destination ${ip}:21-23/4021$`),
    );
    assert.ok(
      report.hops.some((h) => h.check === 'security group tcp/22'),
      report.hops.map((h) => h.check).join(', '),
    );
    await call('PUT', `${pfs}/${range.id}`, { port_forwarding: { internal_port: 22 } });
    await eventually('N:1: 4023 reaches the instance’s port 22 too', () => connectFromExternal(4023, 'range-to-one'));
    await eventually('the instance heard it', async () => readFileSync(heard, 'utf8').includes('range-to-one'));
    assert.match(routerNat(), new RegExp(`^-A ${rangeChain} .*--dport 4021:4023 -j DNAT --to-destination ${ip}:22$`, 'm'));
    openstackRaw('floating', 'ip', 'port', 'forwarding', 'delete', fip.id, range.id);
    await eventually('the range’s chains leave qrouter-', async () => !/fip-pf|pf-/.test(routerNat()));
  },
);
