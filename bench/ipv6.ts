// IPv6 router convergence on a real lab (root): controller (L3 role) + compute1 + the external host,
// which gets 2001:db8:ff::1 on the dual-stack provider network and a route to the tenant prefix via
// the router's gateway IPv6 address (in its own namespace). An instance on compute1 sits on an
// IPv6-only network with a SLAAC subnet; the router (with its gateway) exists, the interface does not.
// Measured from the add_router_interface request starting, REPS times:
// - the instance holds its SLAAC address (radvd's first advertisement arrived), tentative or not;
// - the address has passed duplicate address detection (the guest's kernel: one probe, 1 s);
// - the first ICMPv6 echo reply from the external host (bench/icmp-probe.py every PROBE_MS).
// Between repetitions the interface is removed and the instance forgets what the advertisements
// gave it (global addresses, routes from RAs, neighbours), as a guest that never saw this router.
// Usage: npm run bench:ipv6. REPS, PROBE_MS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeNamespace } from '../src/lab/context.ts';
import { createInstance } from '../src/lab/instance.ts';
import { now, Prober } from './probe.ts';
import { cli, CONTROLLER, doneAt, ipOk, loadavg, providerLab, round, settledPasses, stats, timed, until } from './l3.ts';

const REPS = Number(process.env.REPS ?? 10);
const PROBE_MS = Number(process.env.PROBE_MS ?? 5);
const EXTERNAL_V6 = '2001:db8:ff::1';
const PREFIX = '2001:db8:1::/64';

/** The instance's global IPv6 address `addr` on eth0: 'tentative' during DAD, 'ready' after, or null. */
function addressState(ns: string, addr: string): 'tentative' | 'ready' | null {
  const out = spawnSync('ip', ['-n', ns, '-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], { encoding: 'utf8' }).stdout;
  const line = out.split('\n').find((l) => l.includes(` ${addr}/`));
  return !line ? null : line.includes('tentative') ? 'tentative' : 'ready';
}

export async function ipv6Bench() {
  const lab = `b6${process.pid % 100000}`;
  const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-ipv6-'));
  const L = ['--lab', lab, '--state-root', root];
  const probers: Prober[] = [];
  const load = loadavg();
  try {
    const { foreign, ctx, c, post, provider } = await providerLab(lab, root);
    await post('/v2.0/subnets', 'subnet', {
      network_id: provider.id,
      ip_version: 6,
      cidr: '2001:db8:ff::/64',
      gateway_ip: EXTERNAL_V6,
      allocation_pools: [{ start: '2001:db8:ff::100', end: '2001:db8:ff::1ff' }],
      enable_dhcp: false,
    });
    const net = await post('/v2.0/networks', 'network', { name: 'v6' });
    const subnet = await post('/v2.0/subnets', 'subnet', {
      network_id: net.id,
      ip_version: 6,
      cidr: PREFIX,
      ipv6_ra_mode: 'slaac',
      ipv6_address_mode: 'slaac',
    });
    const { record: vm } = await createInstance(ctx, {
      name: 'vm',
      network: net.id,
      host: 'compute1',
      securityGroups: [],
      project: 'admin',
      dhcpTimeoutMs: 30_000,
      print: () => undefined,
    });
    const slaac = vm.port.fixedIps[0]!.ip_address;

    const router = await post('/v2.0/routers', 'router', { name: 'r6', external_gateway_info: { network_id: provider.id } });
    const gw = (
      await c.call<{ ports: Array<{ fixed_ips: Array<{ ip_address: string }> }> }>(
        'GET',
        `/v2.0/ports?device_id=${router.id}&device_owner=network:router_gateway`,
      )
    ).ports[0]!;
    const gwV6 = gw.fixed_ips.map((f) => f.ip_address).find((a) => a.includes(':'));
    if (!gwV6) throw new Error('the router gateway has no IPv6 address');
    const ext = nodeNamespace(ctx.state, 'external');
    ipOk(['-n', ext, '-6', 'addr', 'replace', `${EXTERNAL_V6}/64`, 'dev', 'eth0', 'nodad']);
    ipOk(['-n', ext, '-6', 'route', 'replace', PREFIX, 'via', gwV6]);
    await until(
      'the router gateway up',
      () => spawnSync('ip', ['-n', `qrouter-${router.id}`, '-6', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout.includes(gwV6),
      30_000,
      50,
    );

    const probe = new Prober(vm.namespace, EXTERNAL_V6, PROBE_MS, 'new');
    probers.push(probe);
    const intf = `/v2.0/routers/${router.id}`;
    const m = { address: [] as number[], ready: [] as number[], reply: [] as number[], api: [] as number[], done: [] as number[] };
    const reps: unknown[] = [];
    for (let i = 0; i < REPS; i++) {
      // A guest that has not heard this router: no SLAAC address, no routes from advertisements.
      ipOk(['-n', vm.namespace, '-6', 'addr', 'flush', 'dev', 'eth0', 'scope', 'global']);
      ipOk(['-n', vm.namespace, '-6', 'route', 'flush', 'proto', 'ra']);
      ipOk(['-n', vm.namespace, '-6', 'neigh', 'flush', 'dev', 'eth0']);
      const [, t0, t1] = await timed(() => c.call('PUT', `${intf}/add_router_interface`, { subnet_id: subnet.id }));
      const address = await until('the SLAAC address', () => (addressState(vm.namespace, slaac) ? now() : undefined), 30_000, 5);
      const ready = await until('the address past DAD', () => addressState(vm.namespace, slaac) === 'ready' && now(), 30_000, 5);
      const first = await until('a reply from the external host', () => probe.firstAfter(t0), 30_000);
      const passes = await settledPasses(ctx, [CONTROLLER, 'compute1'], t0, t0, 300);
      m.api.push(t1 - t0);
      m.address.push(address - t0);
      m.ready.push(ready - t0);
      m.reply.push(first.recv - t0);
      m.done.push(doneAt(passes));
      reps.push({
        request_ms: round(t1 - t0),
        slaac_address_ms: round(address - t0),
        address_ready_ms: round(ready - t0),
        first_reply_ms: round(first.recv - t0),
        passes,
      });
      await c.call('PUT', `${intf}/remove_router_interface`, { subnet_id: subnet.id });
      await until('the instance cut off', () => now() - probe.lastRecv() > 1500, 30_000, 50);
    }
    await probe.stop();
    return {
      load_at_start: load,
      load_at_end: loadavg(),
      other_labs_agent_namespaces: foreign,
      probe_interval_ms: PROBE_MS,
      note: 'times from the add_router_interface request starting; passes: agent passes that changed something (agent log)',
      add_interface_request_ms: stats(m.api),
      to_slaac_address_ms: stats(m.address),
      to_address_past_dad_ms: stats(m.ready),
      to_first_reply_from_external_host_ms: stats(m.reply),
      agents_done_ms: stats(m.done),
      repetitions: reps,
    };
  } finally {
    for (const p of probers) await p.stop();
    cli('lab', 'down', ...L);
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify({ benchmark: 'ipv6', ...(await ipv6Bench()) }, null, 2));
}
