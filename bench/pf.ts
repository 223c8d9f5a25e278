// Port forwarding add → first connection, on a real lab (root): controller (L3 role) + compute1 +
// the external host 10.123.123.1; a router between the provider network and 172.16.1.0/24, an
// instance on compute1 listening on TCP port 22. Each repetition: the external host tries a TCP
// connection to <floating IP>:2222 every PROBE_MS (bench/tcp-connect.py, a new socket each time)
// while the forwarding tcp/2222 → vm:22 is created; measured from the create request to the first
// accepted connection (and from the request's return), then the forwarding is deleted and the
// chains awaited gone. PF_ITER repetitions (default 10), PROBE_MS (default 10).
// Usage: npm run bench:pf (prints JSON).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeNamespace } from '../src/lab/context.ts';
import { selfServiceInstance } from './tenant.ts';
import { now } from './probe.ts';
import { cli, loadavg, providerLab, round, stats, timed, until } from './l3.ts';

const PF_ITER = Number(process.env.PF_ITER ?? 10);
const PROBE_MS = Number(process.env.PROBE_MS ?? 10);
const FIP = '10.123.123.150';
const CONNECT = fileURLToPath(new URL('./tcp-connect.py', import.meta.url));

/** The first accepted connection to FIP:port from `ns`, as epoch ms. */
function firstConnection(ns: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', 'python3', CONNECT, FIP, String(port), String(PROBE_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
    child.on('exit', () => {
      clearTimeout(timer);
      const t = Number(out.trim());
      if (Number.isFinite(t) && t > 0) resolve(t);
      else reject(new Error(`no connection to ${FIP}:${port} within 60 s`));
    });
  });
}

async function pfBench() {
  const lab = `bp${process.pid % 100000}`;
  const root = mkdtempSync(join(tmpdir(), 'neutrino-bench-pf-'));
  const load = loadavg();
  let listener: ReturnType<typeof spawn> | undefined;
  try {
    const made = await providerLab(lab, root);
    const { foreign, ctx, c, post, provider } = made;
    const { subnet, vm } = await selfServiceInstance(made, { protocol: 'tcp', port: 22 });
    const router = await post('/v2.0/routers', 'router', { name: 'router', external_gateway_info: { network_id: provider.id } });
    await c.call('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    listener = spawn('ip', ['netns', 'exec', vm.namespace, 'python3', '-c', LISTEN], { stdio: 'ignore' });
    const fip = await post('/v2.0/floatingips', 'floatingip', { floating_network_id: provider.id, floating_ip_address: FIP });
    const external = nodeNamespace(ctx.state, 'external');
    const pfs = `/v2.0/floatingips/${fip.id}/port_forwardings`;
    const total: number[] = [];
    const afterReturn: number[] = [];
    const reps: unknown[] = [];
    for (let i = 0; i < PF_ITER; i++) {
      const connected = firstConnection(external, 2222);
      const [pf, t0, t1] = await timed(() =>
        c.call<{ port_forwarding: { id: string } }>('POST', pfs, {
          port_forwarding: {
            internal_port_id: vm.port.id,
            internal_ip_address: vm.port.fixedIps[0]!.ip_address,
            protocol: 'tcp',
            external_port: 2222,
            internal_port: 22,
          },
        }),
      );
      const first = await connected;
      total.push(first - t0);
      afterReturn.push(first - t1);
      reps.push({ request_ms: round(t1 - t0), first_connection_ms: round(first - t0) });
      await c.call('DELETE', `${pfs}/${pf.port_forwarding.id}`);
      await until(
        'the forwarding chains gone',
        () =>
          !spawnSync('ip', ['netns', 'exec', `qrouter-${router.id}`, 'iptables', '-t', 'nat', '-S'], { encoding: 'utf8' }).stdout.includes(
            'fip-pf',
          ),
        30_000,
        50,
      );
    }
    return {
      load_at_start: load,
      load_at_end: loadavg(),
      other_labs_agent_namespaces: foreign,
      probe_interval_ms: PROBE_MS,
      port_forwarding_add_to_first_connection_ms: stats(total),
      after_request_returned_ms: stats(afterReturn),
      repetitions: reps,
      finished_at: new Date(now()).toISOString(),
    };
  } finally {
    if (listener && listener.exitCode === null) listener.kill('SIGTERM');
    cli('lab', 'down', '--lab', lab, '--state-root', root);
    rmSync(root, { recursive: true, force: true });
  }
}

/** The instance's port 22: accepts and closes every connection. */
const LISTEN = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 22)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
`;

console.log(JSON.stringify(await pfBench(), null, 2));
