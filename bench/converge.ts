// Convergence benchmark on a real lab (root): plug → port ACTIVE, plug → first ping reply across
// VXLAN, and on a node with many ports the agent's full resync and the cost of one more port
// (operations, commands, milliseconds); then the L3 part in a lab of its own (bench/l3.ts: router
// and floating IP convergence, also alone as npm run bench:l3). Prints one JSON object.
// The agents' logs are left in $TMPDIR/bench-converge-<node>.log.
// Usage: npm run bench:converge (ITER, PORTS, ONE_ITER, L3=0 to skip the L3 part; FIP_ITER, ROUTER_ITER, PROBE_MS, PROFILE_ITER for L3)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, loadLab } from '../src/lab/context.js';
import { sgChains, tapName } from '../src/kernel/names.js';
import type { NeutrinoClient } from '../src/client/neutrino.js';
import { l3Bench } from './l3.js';

const LAB = 'bconv';
const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-'));
const L = ['--lab', LAB, '--state-root', root];
const ITER = Number(process.env.ITER ?? 10);
const BIG = Number(process.env.PORTS ?? 1000);
const ONE_ITER = Number(process.env.ONE_ITER ?? 5);

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/neutrino.js', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`neutrino ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
};
const ip = (args: string[], input?: string) => execFileSync('ip', args, { encoding: 'utf8', input });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2).toFixed(1);
};
const round = (x: number) => +x.toFixed(1);

async function until(fn: () => Promise<boolean>, timeoutMs = 60_000, what = 'a condition'): Promise<void> {
  const t0 = performance.now();
  while (!(await fn())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

type Port = { id: string; mac_address: string; status: string; fixed_ips: Array<{ ip_address: string }> };

const newPorts = async (c: NeutrinoClient, netId: string, n: number, tag: string): Promise<Port[]> =>
  (
    await c.call<{ ports: Port[] }>('POST', '/v2.0/ports', {
      ports: Array.from({ length: n }, (_, i) => ({
        network_id: netId,
        'binding:host_id': 'compute1',
        device_owner: 'compute:nova',
        device_id: `${tag}-${i}`,
        port_security_enabled: false,
      })),
    })
  ).ports;

const status = async (c: NeutrinoClient, id: string) => (await c.call<{ port: Port }>('GET', `/v2.0/ports/${id}`)).port.status;

/** An instance stand-in: namespace NS with eth0 (the port's MAC and address) whose peer is the port's tap on compute1. */
function plug(computeNs: string, ns: string, p: Port): void {
  ip(['netns', 'add', ns]);
  ip(['link', 'add', tapName(p.id), 'netns', computeNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  ip(['-n', ns, '-batch', '-'], `link set eth0 address ${p.mac_address} mtu 1450 up\naddr add ${p.fixed_ips[0].ip_address}/20 dev eth0\n`);
}

function pingOnce(fromNs: string, addr: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--net=/run/netns/${fromNs}`, '--', 'ping', '-c', '1', '-i', '0.01', '-w', '10', addr], {
      stdio: 'ignore',
    });
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** Pass lines ("applied changes") the agent logged after byte `from`. */
function passes(log: string, from: number): Array<{ ops: number; commands: number; ms: number }> {
  return readFileSync(log, 'utf8')
    .slice(from)
    .split('\n')
    .filter((l) => l.includes('"applied changes"'))
    .map((l) => JSON.parse(l));
}

async function main(): Promise<Record<string, unknown>> {
  cli('lab', 'up', ...L, '--nodes', 'controller,compute1');
  const made: string[] = [];
  try {
    const { state, paths } = loadLab({ lab: LAB, stateRoot: root });
    const c = adminClient(state);
    const computeNs = state.nodes.find((n) => n.name === 'compute1')!.namespace;
    const adminProject = (await c.call<{ projects: Array<{ id: string }> }>('GET', '/identity/v3/projects?name=admin')).projects[0].id;
    await c.call('PUT', `/v2.0/quotas/${adminProject}`, { quota: { port: -1 } });
    const net = (
      await c.call<{ network: { id: string } }>('POST', '/v2.0/networks', { network: { name: 'bench', port_security_enabled: false } })
    ).network;
    await c.call('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.50.0.0/20' } });
    cli('instance', 'create', ...L, 'pinger', '--network', 'bench', '--host', 'controller', '--project', 'admin');
    const pinger = `${LAB}-i-pinger`;

    const toActive: number[] = [];
    const toPing: number[] = [];
    const ports = await newPorts(c, net.id, 2 * ITER, 'plug');
    for (let i = 0; i < ITER; i++) {
      // plug → ACTIVE
      const a = ports[2 * i];
      made.push(`${LAB}-pa${i}`);
      let t0 = performance.now();
      plug(computeNs, `${LAB}-pa${i}`, a);
      await until(async () => (await status(c, a.id)) === 'ACTIVE', 60_000, 'a plugged port ACTIVE');
      toActive.push(performance.now() - t0);
      // plug → first ping reply from the controller's instance
      const b = ports[2 * i + 1];
      made.push(`${LAB}-pb${i}`);
      t0 = performance.now();
      plug(computeNs, `${LAB}-pb${i}`, b);
      const ok = await pingOnce(pinger, b.fixed_ips[0].ip_address);
      toPing.push(ok ? performance.now() - t0 : NaN);
    }

    // A node with BIG ports: bulk-create them and their taps (veths whose peers stay in the node).
    const log = paths.agentLog('compute1');
    const big = [];
    for (let done = 0; done < BIG; done += 200) big.push(...(await newPorts(c, net.id, Math.min(200, BIG - done), `big${done}`)));
    const tBig = performance.now();
    ip(
      ['-n', computeNs, '-batch', '-'],
      big.map((p, i) => `link add ${tapName(p.id)} type veth peer name bp${i}\nlink set bp${i} up`).join('\n') + '\n',
    );
    const createTaps = performance.now() - tBig;
    await until(
      async () => (await c.call<{ ports: Port[] }>('GET', `/v2.0/ports?binding:host_id=compute1&status=DOWN&fields=id`)).ports.length === 0,
      300_000,
      'every port on the big node ACTIVE',
    );
    const wireAll = performance.now() - tBig;

    // Full resync: restart the agent and read its first pass (nothing to change: it must not disturb anything).
    let from = statSync(log).size;
    const tRestart = performance.now();
    cli('lab', 'restart-agent', ...L, 'compute1');
    const restart = performance.now() - tRestart;
    const initialLine = () =>
      readFileSync(log, 'utf8')
        .slice(from)
        .split('\n')
        .find((l) => l.includes('"initial sync"'));
    await until(async () => initialLine() !== undefined, 120_000, "the restarted agent's initial sync");
    const initial = JSON.parse(initialLine()!);

    // One more port on the big node: the work it costs.
    from = statSync(log).size;
    const [one] = await newPorts(c, net.id, 1, 'one');
    made.push(`${LAB}-one`);
    const tOne = performance.now();
    plug(computeNs, `${LAB}-one`, one);
    await until(async () => (await status(c, one.id)) === 'ACTIVE', 60_000, 'one more port ACTIVE');
    const oneActive = performance.now() - tOne;
    const onePasses = passes(log, from);

    // ONE_ITER times on the big node: a port with security groups (its own chains) plugged → ACTIVE,
    // then deleted through the API → its chains gone from compute1's filter table.
    const plugMore: number[] = [];
    const chainsGone: number[] = [];
    const chainExists = (name: string) =>
      spawnSync('nsenter', [`--net=/run/netns/${computeNs}`, '--', 'iptables', '-S', name], { stdio: 'ignore' }).status === 0;
    for (let i = 0; i < ONE_ITER; i++) {
      const sg = (
        await c.call<{ port: Port }>('POST', '/v2.0/ports', {
          port: {
            network_id: net.id,
            'binding:host_id': 'compute1',
            device_owner: 'compute:nova',
            device_id: `sg-${i}`,
            port_security_enabled: true,
          },
        })
      ).port;
      await until(async () => chainExists(sgChains(sg.id).ingress), 60_000, 'the chains of a bound port');
      // A Linux bridge takes at most 1,023 ports: each iteration's instance (and tap) goes at its end.
      const vm = `${LAB}-sg${i}`;
      made.push(vm);
      let t0 = performance.now();
      plug(computeNs, vm, sg);
      await until(async () => (await status(c, sg.id)) === 'ACTIVE', 60_000, 'a port with security groups ACTIVE');
      plugMore.push(performance.now() - t0);
      await sleep(500);
      t0 = performance.now();
      await c.call('DELETE', `/v2.0/ports/${sg.id}`);
      await until(
        async () => !chainExists(sgChains(sg.id).ingress) && !chainExists(sgChains(sg.id).egress),
        60_000,
        'the chains of a deleted port gone',
      );
      chainsGone.push(performance.now() - t0);
      spawnSync('ip', ['netns', 'del', vm]);
      made.pop();
      await sleep(500);
    }

    const rss = (pid: number | null) => {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      } catch {
        return 0;
      }
    };
    const fresh = loadLab({ lab: LAB, stateRoot: root }).state;
    return {
      benchmark: 'converge',
      iterations: ITER,
      plug_to_active_ms: { median: median(toActive), max: round(Math.max(...toActive)) },
      plug_to_first_ping_ms: { median: median(toPing), max: round(Math.max(...toPing)) },
      node_ports: BIG + 2 * ITER + 1,
      wire_all_new_ports_ms: round(wireAll),
      // of which creating the taps (one ip -batch): the rest is the agent's
      create_taps_ms: round(createTaps),
      agent_restart: { command_ms: round(restart), initial_sync: initial ?? null },
      one_more_port: { plug_to_active_ms: round(oneActive), passes: onePasses },
      one_more_port_with_security_groups: {
        iterations: ONE_ITER,
        plug_to_active_ms: { median: median(plugMore), max: round(Math.max(...plugMore)) },
        delete_to_chains_gone_ms: { median: median(chainsGone), max: round(Math.max(...chainsGone)) },
      },
      memory_mib: { server: round(rss(fresh.server.pid)), agents: fresh.nodes.map((n) => ({ node: n.name, rss: round(rss(n.agentPid)) })) },
    };
  } finally {
    // The lab goes with its state root: the agents' logs are kept.
    for (const node of ['controller', 'compute1'])
      spawnSync('cp', [loadLab({ lab: LAB, stateRoot: root }).paths.agentLog(node), `${tmpdir()}/bench-converge-${node}.log`]);
    for (const ns of made) spawnSync('ip', ['netns', 'del', ns]);
    cli('lab', 'down', ...L);
    rmSync(root, { recursive: true, force: true });
  }
}

const converge = await main();
// L3=0 leaves the L3 part out (it brings up a lab of its own).
const l3 = process.env.L3 === '0' ? undefined : await l3Bench();
console.log(JSON.stringify({ ...converge, l3 }, null, 2));
