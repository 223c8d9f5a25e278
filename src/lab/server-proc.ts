// The lab's server: one detached `neutrino server` with SQLite in the lab dir, listening on a free
// loopback port (for the CLI) and on a Unix socket (for agents in node namespaces).
import { createServer } from 'node:net';
import { requestJson } from '../client/http.ts';
import { NEUTRINO_BIN, type LabPaths } from './paths.ts';
import { hasEnded } from './procs.ts';
import { spawnDetached } from '../exec/run.ts';
import { LAB_VLAN_RANGES, LabError } from './topology.ts';
import { lastLogLine, waitFor, type Abort } from './util.ts';

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The lab's agents report every 5 s: 15 s without a heartbeat marks one dead (3× report_interval, as
 * Neutron advises at least 2×), so a stopped agent shows within seconds rather than 75 s.
 */
export const LAB_AGENT_DOWN_TIME = 15;

/**
 * Every CLI call in a lab (openstack, neutrino's own) logs in with a password, and each check costs a
 * hash at the server: the lab's are made with N = 2^10 (~2 ms) instead of 2^14 (~50 ms). Its
 * passwords are generated (24 random characters), which no hashing cost would protect better.
 */
export const LAB_PASSWORD_HASH_ROUNDS = 10;

/** Requests in flight at `lab down` get 2 s: within the 3 s it waits before SIGKILL. */
const LAB_SHUTDOWN_GRACE = 2;

/** The type networks get without provider attributes: VXLAN (the scenario's), or VLANs of LAB_VLAN_RANGES. */
export type LabTenantNetworkType = 'vxlan' | 'vlan';

export function serverArgv(paths: LabPaths, port: number, tenantNetworkType: LabTenantNetworkType = 'vxlan'): string[] {
  return [
    ...[
      process.execPath,
      NEUTRINO_BIN,
      'server',
      '--state-dir',
      paths.serverDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--listen-unix',
      paths.socket,
    ],
    ...['--agent-down-time', String(LAB_AGENT_DOWN_TIME), '--graceful-shutdown-timeout', String(LAB_SHUTDOWN_GRACE)],
    ...['--password-hash-rounds', String(LAB_PASSWORD_HASH_ROUNDS)],
    ...['--network-vlan-ranges', LAB_VLAN_RANGES, '--tenant-network-types', tenantNetworkType],
  ];
}

/** What identifies the lab's server in /proc/<pid>/cmdline. */
export const serverMarkers = (paths: LabPaths) => ['server', paths.serverDir];

export async function startServer(
  paths: LabPaths,
  adminPassword: string,
  tenantNetworkType: LabTenantNetworkType,
): Promise<{ pid: number; url: string }> {
  const port = await freeLoopbackPort();
  const env = { ...process.env, NEUTRINO_ADMIN_PASSWORD: adminPassword };
  const pid = await spawnDetached(serverArgv(paths, port, tenantNetworkType), { log: paths.serverLog, env });
  return { pid, url: `http://127.0.0.1:${port}` };
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await requestJson({ url }, 'GET', '/identity/v3', { timeoutMs: 1000 })).status === 200;
  } catch {
    return false;
  }
}

/** Waits until the server answers on both its TCP address and its socket. */
export async function waitForServer(paths: LabPaths, pid: number, url: string, abort: Abort, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => {
      if (hasEnded({ pid, markers: serverMarkers(paths) })) {
        throw new LabError(`the server exited during start-up (${lastLogLine(paths.serverLog)}; log: ${paths.serverLog})`);
      }
      return ((await answers(url)) && (await answers(`unix:${paths.socket}`))) || null;
    },
    {
      timeoutMs,
      everyMs: 100,
      abort,
      onTimeout: () => new LabError(`the server did not answer within ${timeoutMs / 1000} s (log: ${paths.serverLog})`),
    },
  );
}

/** True when the server answers at `url` (for `lab status`). */
export const serverAnswers = answers;
