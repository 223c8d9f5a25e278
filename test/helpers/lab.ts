// Shared steps of the lab end-to-end tests: bring a lab up and point the openstack CLI at it as admin; wait for a condition.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { neutrino, neutrinoOk } from './neutrino-cli.ts';
import { cliEnv } from './openstack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 300 ms until it gives a truthy value; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

/** `lab up` with controller + compute1; returns an environment for the openstack CLI as the lab's admin. */
export async function labUpAsAdmin(labArgs: string[]): Promise<NodeJS.ProcessEnv> {
  await neutrinoOk(['lab', 'up', ...labArgs, '--nodes', 'controller,compute1'], 180_000);
  return labAdminEnv(labArgs);
}

/** An environment for the openstack CLI as the lab's admin (what `neutrino lab env --admin` exports). */
export async function labAdminEnv(labArgs: string[]): Promise<NodeJS.ProcessEnv> {
  return withExports(await neutrinoOk(['lab', 'env', ...labArgs, '--admin']));
}

/** The CLI's environment plus the `export NAME=value` lines of `envText`. */
export function withExports(envText: string): NodeJS.ProcessEnv {
  const env = cliEnv();
  for (const m of envText.matchAll(/export (\w+)=(\S+)/g)) env[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, '');
  return env;
}

/** The lab's node agents (name, namespace, PID) from its lab.json. */
export function labNodes(root: string, lab: string): Array<{ name: string; namespace: string; agentPid: number | null }> {
  return JSON.parse(readFileSync(join(root, 'labs', lab, 'lab.json'), 'utf8')).nodes;
}

/**
 * SIGSTOP/SIGCONT the lab's own agents (their PIDs from lab.json; only those), so a fault injected
 * by hand is not repaired before it is looked at.
 */
export function signalLabAgents(root: string, lab: string, sig: 'SIGSTOP' | 'SIGCONT', nodes?: string[]): void {
  for (const n of labNodes(root, lab)) if (n.agentPid && (!nodes || nodes.includes(n.name))) process.kill(n.agentPid, sig);
}

/** after(): resume the lab's agents if a test left them paused, take the lab down, remove its state root. */
export async function resumeAndTakeDown(root: string, lab: string): Promise<void> {
  try {
    signalLabAgents(root, lab, 'SIGCONT');
  } catch {
    /* the lab or its agents are already gone */
  }
  await neutrino(['lab', 'down', '--lab', lab, '--state-root', root]);
  rmSync(root, { recursive: true, force: true });
}

/**
 * The lab's flat provider network as an admin creates it (the external host is 10.123.123.1 on it):
 * external, its subnet without DHCP, addresses from .150 to .200 for gateways and floating IPs: the
 * addresses tests name (the floating IP 10.123.123.104) lie below the pool, so no random allocation
 * (a router's gateway) takes them.
 */
export function createLabProvider(openstack: (...args: string[]) => unknown): void {
  openstack('network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'provider', 'provider');
  openstack(
    ...['subnet', 'create', '--network', 'provider', '--subnet-range', '10.123.123.0/24', '--gateway', '10.123.123.1'],
    ...['--allocation-pool', 'start=10.123.123.150,end=10.123.123.200', '--no-dhcp', 'provider'],
  );
}
