// L3 convergence on a real lab (root): controller (L3 role) + compute1 + the external host 10.123.123.1.
// - router: create + set gateway + add interface (three API calls) → the instance on compute1 gets
//   its first reply from the external host; the router is deleted and made again each repetition;
// - floating IP: association request returning → first reply from the external host to the floating
//   IP, and disassociation request returning → last reply; N times.
// Probes are ICMP echoes every PROBE_MS (bench/icmp-probe.py, each probe a new conntrack flow, as a
// new connection would be) with their receive times, so the resolution is PROBE_MS, not a poll loop.
// Each association is measured twice: "cold", the external host holding no ARP entry for the
// floating IP (as for an address it has not used lately), and "warm", re-associated right after a
// disassociation while the external host still has the router's MAC for it (the agent's part alone).
// Then, unless PROFILE_ITER=0, a few more repetitions with strace on the agents (kept out of the
// figures) say where a pass spends its time (bench/strace-profile.ts).
// Usage: npm run bench:l3 (also run by npm run bench:converge). FIP_ITER, ROUTER_ITER, PROBE_MS, PROFILE_ITER.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminClient, loadLab, nodeNamespace, type LabContext } from '../src/lab/context.ts';
import { selfServiceInstance } from './tenant.ts';
import type { NeutrinoClient } from '../src/client/neutrino.ts';
import { now, Prober } from './probe.ts';
import { passPhases, Tracer, type PassPhases } from './strace-profile.ts';

const FIP_ITER = Number(process.env.FIP_ITER ?? 10);
const ROUTER_ITER = Number(process.env.ROUTER_ITER ?? 5);
const PROBE_MS = Number(process.env.PROBE_MS ?? 5);
const PROFILE_ITER = Number(process.env.PROFILE_ITER ?? 3);
/** No reply for this long after a disassociation (or a router delete) counts as stopped. */
const QUIET_MS = 1500;
/** How long an established flow is watched after its floating IP is disassociated. */
const FLOW_WATCH_MS = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const round = (x: number) => +x.toFixed(1);
const quantile = (xs: number[], q: number) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  return round(s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i)));
};
export const stats = (xs: number[]) => ({
  median: quantile(xs, 0.5),
  p90: quantile(xs, 0.9),
  min: quantile(xs, 0),
  max: quantile(xs, 1),
  n: xs.length,
});

export function cli(...args: string[]): string {
  const r = spawnSync(process.execPath, ['bin/neutrino.js', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`neutrino ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export function ipOk(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

export async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number, everyMs = 2): Promise<T> {
  const end = now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Times one API call: [result, start, end]. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number, number]> {
  const t0 = now();
  const v = await fn();
  return [v, t0, now()];
}

/**
 * A random wait of up to one full ARP cycle (3 solicitations 1 s apart, then FAILED and a new cycle
 * on the next packet): a host that keeps sending to an address nobody answers yet is somewhere in
 * that cycle when the answer becomes possible, and hears it at its next solicitation.
 */
const arpPhase = () => sleep(Math.random() * 3000);

interface Pass {
  node: string;
  /** when the pass started (log time − its duration) and ended, relative to the origin */
  start_ms: number;
  end_ms: number;
  ops: number;
}

/** The agents' logged passes that changed something ("applied changes") in [from, to], relative to `origin`. */
function agentPasses(ctx: LabContext, nodes: string[], from: number, to: number, origin: number): Pass[] {
  const out: Pass[] = [];
  for (const node of nodes) {
    for (const l of readFileSync(ctx.paths.agentLog(node), 'utf8').split('\n')) {
      if (!l.includes('"applied changes"')) continue;
      const e = JSON.parse(l) as { time: number; ms: number; ops: number };
      if (e.time >= from && e.time <= to)
        out.push({ node, start_ms: round(e.time - e.ms - origin), end_ms: round(e.time - origin), ops: e.ops });
    }
  }
  return out.sort((a, b) => a.start_ms - b.start_ms);
}

/** The passes since `from`, once at least one has been logged (a loaded machine logs late) and `extraMs` more. */
export async function settledPasses(ctx: LabContext, nodes: string[], from: number, origin: number, extraMs: number): Promise<Pass[]> {
  const end = now() + 10_000;
  while (!agentPasses(ctx, nodes, from, now(), origin).length && now() < end) await sleep(50);
  await sleep(extraMs);
  return agentPasses(ctx, nodes, from, now(), origin);
}

/** When the last pass that changed something ended. */
export const doneAt = (ps: Pass[]) => (ps.length ? Math.max(...ps.map((p) => p.end_ms)) : NaN);

/** strace on the named nodes' agents around `fn`; the passes it saw, relative to the origin `fn` returns. */
async function traced(ctx: LabContext, nodes: string[], fn: () => Promise<number>): Promise<Record<string, PassPhases[]>> {
  const tracers = nodes.map(
    (n) => new Tracer(ctx.state.nodes.find((x) => x.name === n)!.agentPid!, join(ctx.paths.logs, `strace-${n}-${Date.now()}.txt`)),
  );
  await sleep(500); // strace attached to every thread
  const origin = await fn();
  const out: Record<string, PassPhases[]> = {};
  for (const [i, t] of tracers.entries()) out[nodes[i]] = passPhases(await t.stop(), origin);
  return out;
}

type Res = { id: string; [k: string]: unknown };

export interface L3Result {
  load_at_start: string;
  load_at_end: string;
  /** qrouter-/qdhcp- namespaces of other labs when this one came up (each agent pass reads them too) */
  other_labs_agent_namespaces: number;
  probe_interval_ms: number;
  router: Record<string, unknown>;
  floating_ip: Record<string, unknown>;
}

export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * The controller's node name, unique on the machine: at be55d6d an agent's namespace owner mark is
 * its host name alone, so two labs' `controller` agents remove each other's qrouter-/qdhcp- namespaces.
 */
export const CONTROLLER = `ctl${process.pid % 100000}`;

/** qrouter-/qdhcp- namespaces on the machine: every agent observes them all (other labs' too). */
export const agentNamespaces = () =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => /^q(router|dhcp)-/.test(l)).length;

/** A lab up (CONTROLLER + compute1) with the flat provider network and its IPv4 subnet, made through the API. */
export async function providerLab(lab: string, stateRoot: string, upArgs = ['--nodes', `${CONTROLLER},compute1`]) {
  cli('lab', 'up', '--lab', lab, '--state-root', stateRoot, ...upArgs);
  const foreign = agentNamespaces();
  const ctx = loadLab({ lab, stateRoot });
  const c = adminClient(ctx.state);
  const post = async (path: string, key: string, body: Record<string, unknown>) =>
    (await c.call<Record<string, Res>>('POST', path, { [key]: body }))[key];
  const provider = await post('/v2.0/networks', 'network', {
    name: 'provider',
    'router:external': true,
    'provider:network_type': 'flat',
    'provider:physical_network': 'provider',
  });
  await post('/v2.0/subnets', 'subnet', {
    network_id: provider.id,
    ip_version: 4,
    cidr: '10.123.123.0/24',
    gateway_ip: '10.123.123.1',
    allocation_pools: [{ start: '10.123.123.100', end: '10.123.123.200' }],
    enable_dhcp: false,
  });
  return { foreign, ctx, c, post, provider };
}

export async function l3Bench(): Promise<L3Result> {
  const lab = `bl${process.pid % 100000}`;
  const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-l3-'));
  const L = ['--lab', lab, '--state-root', root];
  const probers: Prober[] = [];
  const load = loadavg();
  try {
    const made = await providerLab(lab, root);
    const { foreign, ctx, c, provider } = made;
    const { subnet, vm } = await selfServiceInstance(made, { protocol: 'icmp' });

    const net = { c, ctx, providerId: provider.id, subnetId: subnet.id };
    const router = await routerCase(net, vm.namespace, probers);
    const fip = await fipCase(net, nodeNamespace(ctx.state, 'external'), vm.namespace, vm.port.id, probers);
    return {
      load_at_start: load,
      load_at_end: loadavg(),
      other_labs_agent_namespaces: foreign,
      probe_interval_ms: PROBE_MS,
      router,
      floating_ip: fip,
    };
  } finally {
    for (const p of probers) await p.stop();
    cli('lab', 'down', ...L);
    rmSync(root, { recursive: true, force: true });
  }
}

interface Net {
  c: NeutrinoClient;
  ctx: LabContext;
  providerId: string;
  subnetId: string;
}

/** create + gateway + interface as three API calls; the router's id and the calls' times. */
async function makeRouter({ c, providerId, subnetId }: Net, name: string) {
  const [r, t0, t1] = await timed(() => c.call<{ router: Res }>('POST', '/v2.0/routers', { router: { name } }));
  const id = r.router.id;
  const [, , t2] = await timed(() =>
    c.call('PUT', `/v2.0/routers/${id}`, { router: { external_gateway_info: { network_id: providerId } } }),
  );
  const [, , t3] = await timed(() => c.call('PUT', `/v2.0/routers/${id}/add_router_interface`, { subnet_id: subnetId }));
  return { id, t0, t1, t2, t3 };
}

/** Router create + gateway + interface → first reply from the external host at the instance; ROUTER_ITER times. */
async function routerCase(net: Net, vmNs: string, probers: Prober[]) {
  const { c, ctx, subnetId } = net;
  const probe = new Prober(vmNs, '10.123.123.1', PROBE_MS, 'new');
  probers.push(probe);
  const m = { total: [] as number[], api: [] as number[], afterLast: [] as number[], done: [] as number[] };
  const reps: unknown[] = [];
  const teardown = async (id: string) => {
    await c.call('PUT', `/v2.0/routers/${id}/remove_router_interface`, { subnet_id: subnetId });
    await c.call('DELETE', `/v2.0/routers/${id}`);
    await until(
      'the router namespace gone',
      () => !spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(`qrouter-${id}`),
      30_000,
      50,
    );
    await until('the instance cut off', () => now() - probe.lastRecv() > QUIET_MS, 30_000, 50);
  };
  const rep = async (i: number) => {
    // The instance forgets its gateway's MAC (a new router port has a new one) and keeps probing.
    ipOk(['-n', vmNs, 'neigh', 'flush', 'to', '172.16.1.1']);
    await arpPhase();
    const r = await makeRouter(net, `bench${i}`);
    const first = await until('the instance reaching the external host', () => probe.firstAfter(r.t0), 60_000);
    return { ...r, first: first.recv, passes: await settledPasses(ctx, [CONTROLLER, 'compute1'], r.t0, r.t0, 500) };
  };
  for (let i = 0; i < ROUTER_ITER; i++) {
    const r = await rep(i);
    m.total.push(r.first - r.t0);
    m.api.push(r.t3 - r.t0);
    m.afterLast.push(r.first - r.t3);
    m.done.push(doneAt(r.passes));
    reps.push({
      create_ms: round(r.t1 - r.t0),
      gateway_ms: round(r.t2 - r.t1),
      interface_ms: round(r.t3 - r.t2),
      first_reply_ms: round(r.first - r.t0),
      passes: r.passes,
    });
    await teardown(r.id);
  }
  let profile: unknown = null;
  if (PROFILE_ITER > 0) {
    let id = '';
    profile = await traced(ctx, [CONTROLLER, 'compute1'], async () => {
      const r = await makeRouter(net, 'traced');
      id = r.id;
      await until('the instance reaching the external host', () => probe.firstAfter(r.t0), 60_000);
      await sleep(1000);
      return r.t0;
    });
    await teardown(id);
  }
  await probe.stop();
  return {
    note: 'times from the router create request starting; passes: agent passes that changed something (agent log), start/end relative to it',
    create_gateway_interface_to_first_reply_ms: stats(m.total),
    three_api_calls_ms: stats(m.api),
    last_call_returned_to_first_reply_ms: stats(m.afterLast),
    agents_done_ms: stats(m.done),
    repetitions: reps,
    profile_one_router_under_strace: profile,
  };
}

/** Floating IP association → first reply (cold and warm), disassociation → last reply; FIP_ITER times. */
async function fipCase(net: Net, ext: string, vmNs: string, portId: string, probers: Prober[]) {
  const { c, ctx } = net;
  const router = await makeRouter(net, 'fip');
  const fip = (
    await c.call<{ floatingip: Res & { floating_ip_address: string } }>('POST', '/v2.0/floatingips', {
      floatingip: { floating_network_id: net.providerId },
    })
  ).floatingip;
  const addr = fip.floating_ip_address;
  const probe = new Prober(ext, addr, PROBE_MS, 'new');
  probers.push(probe);
  const put = (port: string | null) => timed(() => c.call('PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: port } }));
  const kinds = ['cold', 'warm', 'disassociate'] as const;
  const m = Object.fromEntries(kinds.map((k) => [k, { request: [] as number[], reply: [] as number[], done: [] as number[] }])) as Record<
    (typeof kinds)[number],
    { request: number[]; reply: number[]; done: number[] }
  >;
  const reps: unknown[] = [];

  const associate = async () => {
    const [, t0, t1] = await put(portId);
    const first = await until('the first reply through the floating IP', () => probe.firstAfter(t0), 30_000);
    return { t0, t1, reply: first.recv - t1, passes: await settledPasses(ctx, [CONTROLLER], t0, t1, 300) };
  };
  const disassociate = async () => {
    const [, t0, t1] = await put(null);
    await until('traffic to stop', () => now() - Math.max(probe.lastRecv(), t1) > QUIET_MS, 30_000, 20);
    return { t0, t1, reply: probe.lastRecv() - t1, passes: await settledPasses(ctx, [CONTROLLER], t0, t1, 0) };
  };
  const record = (kind: (typeof kinds)[number], r: Awaited<ReturnType<typeof associate>>) => {
    m[kind].request.push(r.t1 - r.t0);
    m[kind].reply.push(r.reply);
    m[kind].done.push(doneAt(r.passes));
    reps.push({
      kind,
      request_ms: round(r.t1 - r.t0),
      [kind === 'disassociate' ? 'last_reply_ms' : 'first_reply_ms']: round(r.reply),
      passes: r.passes,
    });
  };

  // The router's namespace and gateway are up before the first measurement.
  await until(
    'the router gateway up',
    () => spawnSync('ip', ['-n', `qrouter-${router.id}`, '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout.includes('10.123.123.'),
    30_000,
    50,
  );
  // The instance still holds the MAC of the last deleted router's interface for its gateway, and
  // would send its replies there until that entry goes stale and is probed (15-45 s + 5 s).
  ipOk(['-n', vmNs, 'neigh', 'flush', 'to', '172.16.1.1']);
  for (let i = 0; i < FIP_ITER; i++) {
    // Cold: the external host forgets the address, then keeps probing it for a while.
    ipOk(['-n', ext, 'neigh', 'flush', 'to', addr]);
    await arpPhase();
    record('cold', await associate());
    record('disassociate', await disassociate());
    // Warm: right after a disassociation the external host still holds the router's MAC for it.
    record('warm', await associate());
    record('disassociate', await disassociate());
  }

  const profile: Array<{ kind: string; reply_ms: number; passes: PassPhases[] }> = [];
  for (let i = 0; i < PROFILE_ITER; i++) {
    for (const [kind, fn] of [
      ['warm association', associate],
      ['disassociation', disassociate],
    ] as const) {
      let reply = NaN;
      const passes = await traced(ctx, [CONTROLLER], async () => {
        const r = await fn();
        reply = r.reply;
        return r.t1;
      });
      profile.push({ kind, reply_ms: round(reply), passes: passes[CONTROLLER] });
    }
  }
  await probe.stop();

  // An established flow (one ICMP id, as a running ping): does it stop when the floating IP goes?
  // A fresh ARP entry on the external host (valid for 15-45 s), so only the router can stop the flow.
  ipOk(['-n', ext, 'neigh', 'flush', 'to', addr]);
  const flow = new Prober(ext, addr, PROBE_MS, 'flow');
  probers.push(flow);
  const [, , a1] = await put(portId);
  await until('the flow answered', () => flow.firstAfter(a1), 30_000);
  await sleep(500);
  const [, , d1] = await put(null);
  await sleep(FLOW_WATCH_MS);
  await flow.stop();
  const flowLast = flow.lastRecv() - d1;

  return {
    address: addr,
    note: 'times from the request returning; agent_done: end of the last controller pass that changed something (agent log)',
    association_request_ms: stats([...m.cold.request, ...m.warm.request]),
    association_to_first_reply_ms: { cold: stats(m.cold.reply), warm: stats(m.warm.reply) },
    association_agent_done_ms: { cold: stats(m.cold.done), warm: stats(m.warm.done) },
    disassociation_request_ms: stats(m.disassociate.request),
    disassociation_to_last_reply_ms: stats(m.disassociate.reply),
    disassociation_agent_done_ms: stats(m.disassociate.done),
    established_flow_after_disassociation:
      flowLast > FLOW_WATCH_MS - 200
        ? `still answered ${round(flowLast)} ms after the request returned (watched ${FLOW_WATCH_MS} ms)`
        : `last reply ${round(flowLast)} ms after the request returned`,
    repetitions: reps,
    profile_under_strace: profile,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify({ benchmark: 'l3', ...(await l3Bench()) }, null, 2));
}
