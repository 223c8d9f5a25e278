// Convergence benchmark on a real lab (root): plug → port ACTIVE, plug → first ping reply across
// VXLAN, and on a node with many ports the agent's full resync and the cost of one more port
// (operations, commands, milliseconds); then the L3 part in a lab of its own (bench/l3.ts: router
// and floating IP convergence, also alone as npm run bench:l3). Prints one JSON object.
// The agents' logs are left in $TMPDIR/bench-converge-<node>.log, the server's in $TMPDIR/bench-converge-server.log.
// Usage: npm run bench:converge (ITER, PORTS, ONE_ITER, L3=0 to skip the L3 part; FIP_ITER, ROUTER_ITER, PROBE_MS, PROFILE_ITER for L3;
// STRACE=1 records every command compute1's agent runs from the one more port on, with its duration;
// IDLE_SECONDS, 15 by default: how long the agents' idle CPU is measured at the end)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, loadLab } from '../src/lab/context.ts';
import { sgChains, tapName } from '../src/kernel/names.ts';
import { tapDigit } from '../src/planner/firewall-buckets.ts';
import { digitChain } from '../src/planner/firewall.ts';
import type { NeutrinoClient } from '../src/client/neutrino.ts';
import { l3Bench } from './l3.ts';
import { Tracer, type Cmd } from './strace-profile.ts';

const LAB = 'bconv';
const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-'));
const L = ['--lab', LAB, '--state-root', root];
const ITER = Number(process.env.ITER ?? 10);
const BIG = Number(process.env.PORTS ?? 1000);
const ONE_ITER = Number(process.env.ONE_ITER ?? 5);
const STRACE = process.env.STRACE === '1';

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/neutrino.js', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`neutrino ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
};
const ip = (args: string[], input?: string) => execFileSync('ip', args, { encoding: 'utf8', input });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the agents' idle cost is measured at the end. */
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 15);
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
function passes(log: string, from: number): Array<{ ops: number; commands: number; ms: number; time: number }> {
  return readFileSync(log, 'utf8')
    .slice(from)
    .split('\n')
    .filter((l) => l.includes('"applied changes"'))
    .map((l) => JSON.parse(l));
}

/** Each command an agent ran (strace), as its duration and its argv without the nsenter prefix, in start order. */
function commandTimes(cmds: Cmd[]): Array<{ at: number; ms: number; cmd: string }> {
  const t0 = cmds[0]?.start ?? 0;
  return cmds
    .filter((c) => Number.isFinite(c.end))
    .map((c) => ({
      at: round(c.start - t0),
      ms: round(c.end - c.start),
      cmd: c.argv
        .filter((a) => !a.startsWith('--net='))
        .slice(0, 8)
        .join(' '),
    }));
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

    // A node with BIG ports: bulk-create them and their taps. Each tap's peer (the guest's NIC) goes to
    // one guests namespace with IPv6 off: Nova starts a guest only once its port is ACTIVE, so the
    // guests are silent while their taps are wired. Peers that spoke IPv6 (DAD, MLD, router
    // solicitations) on one bridge of 1,000 ports would be flooded to every other port — a packet
    // storm of the bench's own making (creating 1,000 such pairs took 38 s here, 1 s with silent peers).
    const log = paths.agentLog('compute1');
    const big = [];
    for (let done = 0; done < BIG; done += 200) big.push(...(await newPorts(c, net.id, Math.min(200, BIG - done), `big${done}`)));
    const guests = `${LAB}-guests`;
    made.push(guests);
    ip(['netns', 'add', guests]);
    ip(['-n', guests, '-batch', '-'], 'link set lo up\n');
    execFileSync('ip', [
      'netns',
      'exec',
      guests,
      'sysctl',
      '-qw',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]);
    const tBig = performance.now();
    ip(
      ['-n', computeNs, '-batch', '-'],
      big.map((p, i) => `link add ${tapName(p.id)} type veth peer name bp${i} netns ${guests}`).join('\n') + '\n',
    );
    ip(['-n', guests, '-batch', '-'], big.map((_, i) => `link set bp${i} up`).join('\n') + '\n');
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

    // One more port on the big node: the work it costs. The kernel is looked at only once per pass the
    // agent logs (a poll of iptables every few milliseconds would compete with the agent's own
    // iptables-restore for the CPU and the ruleset, and slowed it several times over), and a pass's
    // time is the one in its log line.
    const agentPid = loadLab({ lab: LAB, stateRoot: root }).state.nodes.find((n) => n.name === 'compute1')!.agentPid!;
    const tracer = STRACE ? new Tracer(agentPid, join(root, 'strace-compute1.txt')) : undefined;
    if (tracer) await sleep(500);
    const iptablesShows = (chain: string, text?: string) => {
      const r = spawnSync('nsenter', [`--net=/run/netns/${computeNs}`, '--', 'iptables', '-S', chain], { encoding: 'utf8' });
      return r.status === 0 && (text === undefined || r.stdout.includes(text));
    };
    /** Unix ms of the end of the first pass logged after byte `from` after which `check` holds. */
    const passWhen = async (from: number, check: () => boolean, what: string): Promise<number> => {
      let seen = 0;
      let when: number | undefined;
      await until(
        async () => {
          const ps = passes(log, from);
          for (; seen < ps.length; seen++) if (check()) return ((when = ps[seen].time), true);
          return false;
        },
        60_000,
        what,
      );
      return when!;
    };
    // Bound and plugged at once: the binding's pass (its rules in the node-wide chains) and the plug's.
    from = statSync(log).size;
    const [one] = await newPorts(c, net.id, 1, 'one');
    made.push(`${LAB}-one`);
    const tOne = performance.now();
    plug(computeNs, `${LAB}-one`, one);
    await until(async () => (await status(c, one.id)) === 'ACTIVE', 60_000, 'one more port ACTIVE');
    const oneActive = performance.now() - tOne;
    const onePasses = passes(log, from);
    // Plugged once its binding is wired, as Nova plugs a VIF after binding the port.
    from = statSync(log).size;
    const [two] = await newPorts(c, net.id, 1, 'two');
    made.push(`${LAB}-two`);
    // On a node this big the no-window chain is split by digit (planner/firewall-buckets.ts).
    const unknownIn = digitChain('unknown-i', tapDigit(tapName(two.id))!);
    await passWhen(from, () => iptablesShows(unknownIn, tapName(two.id)), 'the rules of a bound port');
    from = statSync(log).size;
    const tTwo = performance.now();
    const plugged = Date.now();
    plug(computeNs, `${LAB}-two`, two);
    const plugMs = performance.now() - tTwo;
    await until(async () => (await status(c, two.id)) === 'ACTIVE', 60_000, 'one more bound port ACTIVE');
    const twoActive = performance.now() - tTwo;
    const twoSeen = Date.now() - plugged;
    const twoPasses = passes(log, from).map((p) => ({ ...p, ended_after_plug_ms: p.time - plugged }));
    // A Linux bridge takes at most 1,023 ports (1,024 with the VXLAN device): their taps go with their instances.
    for (const ns of [`${LAB}-one`, `${LAB}-two`]) {
      spawnSync('ip', ['netns', 'del', ns]);
      made.splice(made.indexOf(ns), 1);
    }

    // ONE_ITER times on the big node: a port with security groups (its own chains) plugged → ACTIVE,
    // then deleted through the API → its chains gone from compute1's filter table.
    const plugMore: number[] = [];
    const chainsGone: number[] = [];
    for (let i = 0; i < ONE_ITER; i++) {
      from = statSync(log).size;
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
      await passWhen(from, () => iptablesShows(sgChains(sg.id).ingress), 'the chains of a bound port');
      // A Linux bridge takes at most 1,023 ports: each iteration's instance (and tap) goes at its end.
      const vm = `${LAB}-sg${i}`;
      made.push(vm);
      const t0 = performance.now();
      plug(computeNs, vm, sg);
      await until(async () => (await status(c, sg.id)) === 'ACTIVE', 60_000, 'a port with security groups ACTIVE');
      plugMore.push(performance.now() - t0);
      await sleep(500);
      from = statSync(log).size;
      const deleted = Date.now();
      await c.call('DELETE', `/v2.0/ports/${sg.id}`);
      const gone = await passWhen(
        from,
        () => !iptablesShows(sgChains(sg.id).ingress) && !iptablesShows(sgChains(sg.id).egress),
        'the chains of a deleted port gone',
      );
      chainsGone.push(gone - deleted);
      spawnSync('ip', ['netns', 'del', vm]);
      made.pop();
      await sleep(500);
    }

    const commands = tracer ? commandTimes(await tracer.stop()) : undefined;

    // The idle cost: CPU of each agent and the commands it ran (reaped children) while nothing changes.
    const agentPids = loadLab({ lab: LAB, stateRoot: root }).state.nodes.map((n) => [n.name, n.agentPid] as const);
    const cpuTicks = (pid: number | null) => {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0);
      } catch {
        return 0;
      }
    };
    const idleFrom = agentPids.map(([, pid]) => cpuTicks(pid));
    await sleep(IDLE_SECONDS * 1000);
    const idleCpu = Object.fromEntries(
      agentPids.map(([name, pid], i) => [name, +((cpuTicks(pid) - idleFrom[i]!) / IDLE_SECONDS).toFixed(1)]),
    );
    const rss = (pid: number | null) => {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      } catch {
        return 0;
      }
    };
    // What the resident memory is: anonymous (heap, native) and file-backed (Node.js's binary and code, shared).
    const rssParts = (pid: number | null) => {
      try {
        const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
        const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
        return { anonymous: round(kib('Anonymous') / 1024), file: round((kib('Rss') - kib('Anonymous')) / 1024) };
      } catch {
        return {};
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
      // bound and plugged at once (the binding's pass delays the plug's), then plugged once bound
      one_more_port: { plug_to_active_ms: round(oneActive), passes: onePasses },
      // plug_ms: the bench's own plug (namespace, veth, addresses), part of plug_to_active_ms
      one_more_bound_port: { plug_to_active_ms: round(twoActive), by_wall_clock_ms: twoSeen, plug_ms: round(plugMs), passes: twoPasses },
      one_more_port_with_security_groups: {
        iterations: ONE_ITER,
        plug_to_active_ms: { median: median(plugMore), max: round(Math.max(...plugMore)) },
        delete_to_chains_gone_ms: { median: median(chainsGone), max: round(Math.max(...chainsGone)) },
      },
      ...(commands ? { agent_commands: commands } : {}),
      // per cent of one core, the agent and its commands, over IDLE_SECONDS with nothing changing
      idle_cpu_percent: { seconds: IDLE_SECONDS, ...idleCpu },
      memory_mib: {
        server: round(rss(fresh.server.pid)),
        agents: fresh.nodes.map((n) => ({ node: n.name, rss: round(rss(n.agentPid)), ...rssParts(n.agentPid) })),
      },
    };
  } finally {
    // The lab goes with its state root: the agents' logs are kept.
    const logPaths = loadLab({ lab: LAB, stateRoot: root }).paths;
    for (const node of ['controller', 'compute1']) spawnSync('cp', [logPaths.agentLog(node), `${tmpdir()}/bench-converge-${node}.log`]);
    spawnSync('cp', [logPaths.serverLog, `${tmpdir()}/bench-converge-server.log`]);
    for (const ns of made) spawnSync('ip', ['netns', 'del', ns]);
    cli('lab', 'down', ...L);
    rmSync(root, { recursive: true, force: true });
  }
}

const converge = await main();
// L3=0 leaves the L3 part out (it brings up a lab of its own).
const l3 = process.env.L3 === '0' ? undefined : await l3Bench();
console.log(JSON.stringify({ ...converge, l3 }, null, 2));
