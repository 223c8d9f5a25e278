// HA router failover on a real lab (root): two network nodes (controller and network2, each with the L3
// role and keepalived), compute1 with an instance behind an HA router and a floating IP, the external
// host probing the floating IP with ICMP echoes every PROBE_MS (bench/icmp-probe.py, one flow, as a
// running ping). Each of REPS repetitions:
// - failover: the active node's agent (SIGKILL) and keepalived (SIGTERM: it hands over with a
//   priority-0 advertisement, as on a node shutting down) are ended by PID; the gap is the longest
//   time between two replies, and also when the standby's report reached the API;
// - rejoin: the killed node's agent is started again (`lab restart-agent`); keepalived comes back
//   BACKUP (nopreempt): the longest gap between replies meanwhile (no loss expected);
// - cut (CUT=1, the default): the active node's NICs are set down (a node cut off the network with
//   its processes alive): the standby takes over after keepalived's master-down interval
//   (3 × advert_int + skew); then the NICs come back up and the pair settles on one master.
// Prints one JSON object. Usage: npm run bench:ha. REPS, PROBE_MS, CUT.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab, nodeNamespace } from '../src/lab/context.ts';
import { selfServiceInstance } from './tenant.ts';
import { now, Prober } from './probe.ts';
import { cli, ipOk, loadavg, providerLab, round, stats, until } from './l3.ts';

const REPS = Number(process.env.REPS ?? 3);
const PROBE_MS = Number(process.env.PROBE_MS ?? 10);
const CUT = process.env.CUT !== '0';
const FIP = '10.123.123.120';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The longest time between two replies received within [from, to] (ms), or to - from without any. */
function longestGap(p: Prober, from: number, to: number): number {
  const times = p.replies.map((r) => r.recv).filter((t) => t >= from && t <= to);
  let gap = 0;
  let last = from;
  for (const t of times) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

export async function haBench() {
  const lab = `bh${process.pid % 100000}`;
  const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-ha-'));
  const L = ['--lab', lab, '--state-root', root];
  const load = loadavg();
  let prober: Prober | undefined;
  try {
    const made = await providerLab(lab, root, ['--nodes', 'controller,compute1', '--network-nodes', '2']);
    const { ctx, c, post, provider } = made;
    const { subnet, vm } = await selfServiceInstance(made, { protocol: 'icmp' }, 60_000);
    const router = await post('/v2.0/routers', 'router', {
      name: 'ha',
      ha: true,
      external_gateway_info: { network_id: provider.id, external_fixed_ips: [{ ip_address: '10.123.123.102' }] },
    });
    await c.call('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    await post('/v2.0/floatingips', 'floatingip', { floating_network_id: provider.id, floating_ip_address: FIP, port_id: vm.port.id });

    const states = async () =>
      Object.fromEntries(
        (await c.call<{ agents: Array<{ host: string; ha_state: string }> }>('GET', `/v2.0/routers/${router.id}/l3-agents`)).agents.map(
          (a) => [a.host, a.ha_state],
        ),
      );
    const active = async () => {
      const s = await states();
      const a = Object.keys(s).filter((h) => s[h] === 'active');
      return a.length === 1 ? a[0] : undefined;
    };
    const waitFor = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> => {
      const end = Date.now() + ms;
      for (;;) {
        const v = await fn().catch(() => undefined);
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(100);
      }
    };
    prober = new Prober(nodeNamespace(ctx.state, 'external'), FIP, PROBE_MS, 'flow');
    await until('a first reply from the floating IP', () => prober!.lastRecv() > 0, 120_000, 50);
    const stateDir = (node: string) => ctx.paths.agentState(node);
    const failover: number[] = [];
    const reported: number[] = [];
    const rejoin: number[] = [];
    const cut: number[] = [];
    const cutBack: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const from = await waitFor('one active node', active);
      const other = from === 'controller' ? 'network2' : 'controller';
      await sleep(1000);
      const keepalived = Number(readFileSync(join(stateDir(from), 'ha_confs', `${router.id}.pid`), 'utf8').trim());
      if (!readFileSync(`/proc/${keepalived}/cmdline`, 'utf8').includes(stateDir(from))) throw new Error('not our keepalived');
      const agentPid = ctx.state.nodes.find((n) => n.name === from)!.agentPid!;
      const t0 = now();
      process.kill(agentPid, 'SIGKILL');
      process.kill(keepalived, 'SIGTERM');
      await waitFor(`${other} active in l3-agents`, async () => (await states())[other] === 'active');
      reported.push(now() - t0);
      await sleep(3000);
      failover.push(longestGap(prober, t0, now()));
      const t1 = now();
      cli('lab', 'restart-agent', ...L, from);
      await waitFor(`${from} standby`, async () => (await states())[from] === 'standby');
      await sleep(3000);
      rejoin.push(longestGap(prober, t1, now()));
      Object.assign(ctx, loadLab({ lab, stateRoot: root }));
      if (!CUT) continue;
      // The node now active is cut off: its management (VXLAN) and provider NICs down.
      const cutNode = ctx.state.topology.nodes.find((n) => n.name === other)!;
      const t2 = now();
      for (const nic of [cutNode.managementNic, cutNode.providerNic]) ipOk(['-n', cutNode.namespace, 'link', 'set', nic, 'down']);
      await waitFor(
        'replies again',
        async () => (now() - prober!.lastRecv() < PROBE_MS * 5 && prober!.lastRecv() > t2 + 100) || undefined,
        60_000,
      );
      await sleep(2000);
      cut.push(longestGap(prober, t2, now()));
      const t3 = now();
      for (const nic of [cutNode.managementNic, cutNode.providerNic]) ipOk(['-n', cutNode.namespace, 'link', 'set', nic, 'up']);
      await sleep(10_000);
      cutBack.push(longestGap(prober, t3, now()));
      await waitFor('one active node again', active);
    }
    const s = (xs: number[]) => ({ ...stats(xs.map((x) => round(x))), all: xs.map((x) => Math.round(x)) });
    return {
      reps: REPS,
      probe_ms: PROBE_MS,
      loadavg_start: load,
      loadavg_end: loadavg(),
      failover_gap_ms: s(failover),
      failover_reported_in_api_ms: s(reported),
      rejoin_gap_ms: s(rejoin),
      ...(CUT ? { cut_gap_ms: s(cut), cut_restored_gap_ms: s(cutBack) } : {}),
    };
  } finally {
    await prober?.stop();
    cli('lab', 'down', ...L);
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await haBench(), null, 2));
}
