// Extra route add → traffic following it, on a real lab (root): controller (L3 role) + compute1 +
// the external host 10.123.123.1; the provider subnet without a gateway (so the router has no
// default route), a router between it and 172.16.1.0/24, an instance on compute1 (bench/tenant.ts).
// The external host holds 10.200.0.1, which the router reaches only through an extra route
// 10.200.0.0/24 via 10.123.123.1. The instance pings 10.200.0.1 every PROBE_MS (bench/icmp-probe.py,
// a new ICMP id each time); each repetition sets the router's `routes` to that route through the
// API (PUT /v2.0/routers/{id}, what `openstack router set --route` sends) and measures to the first
// reply, then sets `routes` to [] and measures to the last reply. ROUTE_ITER (default 10), PROBE_MS
// (default 10).
// Usage: npm run bench:extraroute (prints JSON).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeNamespace } from '../src/lab/context.ts';
import { now, Prober } from './probe.ts';
import { cli, CONTROLLER, doneAt, ipOk, loadavg, providerLab, round, settledPasses, stats, timed, until } from './l3.ts';
import { selfServiceInstance } from './tenant.ts';

const ROUTE_ITER = Number(process.env.ROUTE_ITER ?? 10);
const PROBE_MS = Number(process.env.PROBE_MS ?? 10);
/** No reply for this long after the route is removed counts as stopped. */
const QUIET_MS = 1500;
const NEXT_HOP = '10.123.123.1';
const BEYOND = '10.200.0.1';
const ROUTE = { destination: '10.200.0.0/24', nexthop: NEXT_HOP };

async function extraRouteBench() {
  const lab = `be${process.pid % 100000}`;
  const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-extraroute-'));
  const load = loadavg();
  let probe: Prober | undefined;
  try {
    const made = await providerLab(lab, root);
    const { foreign, ctx, c, post, provider } = made;
    // Without a gateway on the provider subnet the router has no default route: 10.200.0.1 is
    // reachable through the extra route alone.
    const { subnets } = await c.call<{ subnets: Array<{ id: string }> }>('GET', `/v2.0/subnets?network_id=${provider.id}`);
    await c.call('PUT', `/v2.0/subnets/${subnets[0]!.id}`, { subnet: { gateway_ip: null } });
    const { subnet, vm } = await selfServiceInstance(made, { protocol: 'icmp' });
    const router = await post('/v2.0/routers', 'router', { name: 'router', external_gateway_info: { network_id: provider.id } });
    await c.call('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    ipOk(['-n', nodeNamespace(ctx.state, 'external'), 'addr', 'add', `${BEYOND}/32`, 'dev', ctx.state.topology.external.nic]);

    probe = new Prober(vm.namespace, BEYOND, PROBE_MS, 'new');
    const setRoutes = (routes: object[]) => timed(() => c.call('PUT', `/v2.0/routers/${router.id}`, { router: { routes } }));
    // The router up (its interface address), and no reply without the route.
    const started = now();
    await until(
      'the router interface up',
      () => spawnSync('ip', ['-n', `qrouter-${router.id}`, '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout.includes('172.16.1.1/'),
      60_000,
      50,
    );
    await new Promise((r) => setTimeout(r, QUIET_MS));
    if (probe.firstAfter(started)) throw new Error(`${BEYOND} answered before any extra route`);

    const add = { total: [] as number[], after: [] as number[], done: [] as number[] };
    const removeLast: number[] = [];
    const reps: unknown[] = [];
    for (let i = 0; i < ROUTE_ITER; i++) {
      const [, t0, t1] = await setRoutes([ROUTE]);
      const first = await until('the first reply through the extra route', () => probe!.firstAfter(t0), 60_000);
      const passes = await settledPasses(ctx, [CONTROLLER], t0, t0, 300);
      add.total.push(first.recv - t0);
      add.after.push(first.recv - t1);
      add.done.push(doneAt(passes));
      const [, r0, r1] = await setRoutes([]);
      await until('the replies to stop', () => now() - Math.max(probe!.lastRecv(), r1) > QUIET_MS, 60_000, 20);
      removeLast.push(probe.lastRecv() - r0);
      reps.push({
        request_ms: round(t1 - t0),
        first_reply_ms: round(first.recv - t0),
        agent_done_ms: round(doneAt(passes)),
        remove_request_ms: round(r1 - r0),
        remove_to_last_reply_ms: round(probe.lastRecv() - r0),
      });
    }
    return {
      benchmark: 'extraroute',
      load_at_start: load,
      load_at_end: loadavg(),
      other_labs_agent_namespaces: foreign,
      probe_interval_ms: PROBE_MS,
      note: 'times from the PUT request starting; agent_done: end of the last controller pass that changed something (agent log)',
      extra_route_add_to_first_reply_ms: stats(add.total),
      after_request_returned_ms: stats(add.after),
      agent_done_ms: stats(add.done),
      extra_route_remove_to_last_reply_ms: stats(removeLast),
      repetitions: reps,
    };
  } finally {
    await probe?.stop();
    cli('lab', 'down', '--lab', lab, '--state-root', root);
    rmSync(root, { recursive: true, force: true });
  }
}

console.log(JSON.stringify(await extraRouteBench(), null, 2));
