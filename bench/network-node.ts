// Network node benchmark on a real lab (root): a controller (the L3 and DHCP roles) with ROUTERS
// routers, each on a network of its own with a DHCP subnet (a qrouter- and a qdhcp- namespace each,
// and a dnsmasq), then the agent's idle cost while nothing changes: its CPU and that of the commands
// it ran (reaped children), and the processes started on the machine, over IDLE_SECONDS; then, with
// the agent stopped, what a full observation of the node costs (HOST and every qrouter-/qdhcp-
// namespace, as RealKernel reads them with the agent's watches; OBSERVATIONS of them, the median of
// those after the first two).
// Prints one JSON object; the lab (named bnn<pid>) is taken down at the end, even on failure.
// Usage: npm run bench:network-node (ROUTERS, default 40; IDLE_SECONDS, default 60; SETTLE_SECONDS,
// default 10: the quiet wait before measuring)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, loadLab } from '../src/lab/context.ts';
import { RealKernel } from '../src/exec/real.ts';
import { DHCP_NS_PREFIX, dhcpNamespace, ROUTER_NS_PREFIX, routerNamespace } from '../src/kernel/names.ts';

const LAB = `bnn${process.pid % 10000}`;
const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-'));
const L = ['--lab', LAB, '--state-root', root];
const ROUTERS = Number(process.env.ROUTERS ?? 40);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 60);
const SETTLE_SECONDS = Number(process.env.SETTLE_SECONDS ?? 10);
const OBSERVATIONS = Number(process.env.OBSERVATIONS ?? 12);

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/neutrino.js', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`neutrino ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime + cutime + cstime of a process, in clock ticks (100 per second). */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0);
}
/** Processes forked on the machine since boot. */
const forks = () => Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<Record<string, unknown>> {
  cli('lab', 'up', ...L, '--nodes', 'controller');
  try {
    const { state } = loadLab({ lab: LAB, stateRoot: root });
    const c = adminClient(state);
    const adminProject = (await c.call<{ projects: Array<{ id: string }> }>('GET', '/identity/v3/projects?name=admin')).projects[0].id;
    await c.call('PUT', `/v2.0/quotas/${adminProject}`, { quota: { network: -1, subnet: -1, port: -1, router: -1 } });
    const t0 = performance.now();
    const routerIds: string[] = [];
    const networkIds: string[] = [];
    for (let i = 0; i < ROUTERS; i++) {
      const net = (await c.call<{ network: { id: string } }>('POST', '/v2.0/networks', { network: { name: `nn${i}` } })).network;
      const subnet = (
        await c.call<{ subnet: { id: string } }>('POST', '/v2.0/subnets', {
          subnet: { network_id: net.id, ip_version: 4, cidr: `10.${100 + Math.floor(i / 250)}.${i % 250}.0/24`, enable_dhcp: true },
        })
      ).subnet;
      const router = (await c.call<{ router: { id: string } }>('POST', '/v2.0/routers', { router: { name: `nr${i}` } })).router;
      await c.call('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
      routerIds.push(router.id);
      networkIds.push(net.id);
    }
    // Every router's and network's namespace made (the lab's nodes share /run/netns).
    const want = new Set([...routerIds.map(routerNamespace), ...networkIds.map(dhcpNamespace)]);
    for (;;) {
      const have = readdirSync('/run/netns').filter((n) => want.has(n)).length;
      if (have === want.size) break;
      if (performance.now() - t0 > 600_000) throw new Error(`only ${have} of ${want.size} namespaces after 10 minutes`);
      await sleep(500);
    }
    const builtSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    await sleep(SETTLE_SECONDS * 1000);

    const pid = loadLab({ lab: LAB, stateRoot: root }).state.nodes.find((n) => n.name === 'controller')!.agentPid!;
    const [ticks0, forks0] = [cpuTicks(pid), forks()];
    await sleep(IDLE_SECONDS * 1000);
    const [ticks1, forks1] = [cpuTicks(pid), forks()];

    // Full observations as the agent makes them, with the agent stopped meanwhile.
    const nodeNs = state.nodes.find((n) => n.name === 'controller')!.namespace;
    const kernel = new RealKernel({ hostNetns: nodeNs, watchIp: true, watchNamespacesIp: true, watchRuleset: true });
    // The agent's reach (its prefixes), without its sysctls and with HOST's whole fdb: both sides alike.
    const scope = { host: true, namespaces: [], prefixes: [ROUTER_NS_PREFIX, DHCP_NS_PREFIX], sysctls: {}, processes: {} };
    const observeMs: number[] = [];
    process.kill(pid, 'SIGSTOP');
    try {
      for (let i = 0; i < OBSERVATIONS; i++) {
        const t = performance.now();
        await kernel.observe(scope);
        observeMs.push(performance.now() - t);
        await sleep(200);
      }
    } finally {
      process.kill(pid, 'SIGCONT');
      await kernel.close();
    }
    const settled = observeMs.slice(2).sort((a, b) => a - b);
    return {
      benchmark: 'network-node',
      routers: ROUTERS,
      namespaces: want.size,
      built_seconds: builtSeconds,
      idle: {
        seconds: IDLE_SECONDS,
        // per cent of one core: the agent and the commands it ran
        agent_cpu_percent: +((ticks1 - ticks0) / IDLE_SECONDS).toFixed(1),
        // every process started on the machine (the lab's agent, dnsmasq and anything else running)
        processes_per_second: +((forks1 - forks0) / IDLE_SECONDS).toFixed(1),
      },
      agent_rss_mib: +rssMiB(pid).toFixed(1),
      full_observation_ms: {
        first: +observeMs[0]!.toFixed(1),
        median: +settled[Math.floor(settled.length / 2)]!.toFixed(1),
        max: +settled[settled.length - 1]!.toFixed(1),
      },
    };
  } finally {
    spawnSync(process.execPath, ['bin/neutrino.js', 'lab', 'down', ...L], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  }
}

console.log(JSON.stringify(await main(), null, 2));
