// Trace benchmark on a real lab (root): how long `neutrino trace fip` takes on the demo path (reading
// the API and both nodes, planning, checking every hop), then with 1,000 more ports (default security
// group, taps present, on a second network) bound to the instance's node. Prints one JSON object.
// Usage: npm run bench:trace (ITER, PORTS)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tapName } from '../src/kernel/names.ts';
import { adminClient, loadLab } from '../src/lab/context.ts';
import { traceFip } from '../src/trace/walk/fip.ts';
import { gatherSnapshot } from '../src/trace/read/gather.ts';
import { labSource } from '../src/cli/trace-lab.ts';
import { contextFrom } from '../src/trace/run.ts';

const LAB = 'btrace';
const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-trace-'));
const L = ['--lab', LAB, '--state-root', root];
const ITER = Number(process.env.ITER ?? 10);
const PORTS = Number(process.env.PORTS ?? 1000);
const FIP = '10.123.123.104';

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/neutrino.js', ...args], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`neutrino ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2).toFixed(1);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Times ITER traces: the library (gather, plan, check) split in phases, and the CLI's wall time. */
async function measure(): Promise<Record<string, unknown>> {
  const gather: number[] = [];
  const check: number[] = [];
  const cliWall: number[] = [];
  let hops = 0;
  let ok = true;
  for (let i = 0; i < ITER; i++) {
    const t0 = performance.now();
    const snap = await gatherSnapshot({ lab: labSource({ lab: LAB, stateRoot: root }) });
    const t1 = performance.now();
    const report = traceFip(contextFrom(snap, 'bench'), FIP, { flow: { protocol: 'icmp' }, source: '198.51.100.1' });
    const t2 = performance.now();
    gather.push(t1 - t0);
    check.push(t2 - t1);
    hops = report.hops.length;
    ok &&= report.ok;
    const w0 = performance.now();
    cli('trace', 'fip', FIP, ...L, '--json');
    cliWall.push(performance.now() - w0);
  }
  return {
    ok,
    hops,
    gather_ms_p50: median(gather),
    plan_and_check_ms_p50: median(check),
    library_total_ms_p50: median(gather.map((g, i) => g + check[i]!)),
    cli_wall_ms_p50: median(cliWall),
  };
}

async function main(): Promise<Record<string, unknown>> {
  cli('demo', ...L);
  const demo = await measure();
  const { state } = loadLab({ lab: LAB, stateRoot: root });
  const c = adminClient(state);
  const demoProject = (await c.call<{ projects: Array<{ id: string }> }>('GET', '/identity/v3/projects?name=demo')).projects[0]!.id;
  await c.call('PUT', `/v2.0/quotas/${demoProject}`, { quota: { port: -1 } });
  // A second VXLAN network large enough for the ports (the demo's /24 is not).
  const net = (await c.call<{ network: { id: string } }>('POST', '/v2.0/networks', { network: { name: 'bench', project_id: demoProject } }))
    .network;
  await c.call('POST', '/v2.0/subnets', {
    subnet: { network_id: net.id, project_id: demoProject, ip_version: 4, cidr: '10.200.0.0/20', enable_dhcp: false },
  });
  // More ports on compute1 in the demo project's default group, each with a tap (a veth end) present.
  const ids: string[] = [];
  for (let done = 0; done < PORTS; done += 200) {
    const n = Math.min(200, PORTS - done);
    const r = await c.call<{ ports: Array<{ id: string }> }>('POST', '/v2.0/ports', {
      ports: Array.from({ length: n }, (_, i) => ({
        network_id: net.id,
        project_id: demoProject,
        'binding:host_id': 'compute1',
        device_owner: 'compute:nova',
        device_id: `bench-${done + i}`,
      })),
    });
    ids.push(...r.ports.map((p) => p.id));
  }
  const computeNs = `${LAB}-compute1`;
  const batch =
    ids.map((id, i) => `link add ${tapName(id)} type veth peer name bp${i}\nlink set ${tapName(id)} up\nlink set bp${i} up`).join('\n') +
    '\n';
  execFileSync('ip', ['-n', computeNs, '-batch', '-'], { input: batch });
  const t0 = performance.now();
  for (;;) {
    const active = (
      await c.call<{ ports: Array<{ status: string }> }>(
        'GET',
        `/v2.0/ports?device_owner=compute:nova&binding:host_id=compute1&status=ACTIVE&fields=status`,
      )
    ).ports.length;
    if (active >= PORTS + 1) break;
    if (performance.now() - t0 > 300_000) throw new Error(`only ${active} ports ACTIVE after 5 min`);
    await sleep(500);
  }
  const converged_s = +((performance.now() - t0) / 1000).toFixed(1);
  const big = await measure();
  return {
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    iterations: ITER,
    demo,
    ports_on_node: PORTS + 1,
    agent_converged_s: converged_s,
    big,
  };
}

main()
  .then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'))
  .catch((e) => {
    process.stderr.write(`bench/trace: ${(e as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    spawnSync(process.execPath, ['bin/neutrino.js', 'lab', 'down', ...L], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  });
