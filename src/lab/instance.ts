// `neutrino instance create|list|delete`: plays nova + libvirt in the lab. An instance is a namespace
// with an eth0 whose veth peer tap<port[:11]> sits in the node's namespace (the agent plugs it into
// brq<net[:11]>), a libvirt.xml, and busybox udhcpc taking the address from the DHCP agent; on a
// DHCPv6-stateful subnet also a DHCPv6 exchange, and SLAAC from the router's advertisements.
import { AGENT_DHCP } from '../model/neutron.ts';
import { randomUUID } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectId } from './bootstrap.ts';
import { adminClient, nodeNamespace, type LabContext } from './context.ts';
import { createInstancePort, deletePort, findNetwork, findSecurityGroups, onStatefulDhcpv6 } from './instance-api.ts';
import { dhcpv6Request } from './dhcpv6-client.ts';
import { bridgeName, tapName } from '../kernel/names.ts';
import {
  dhcpClientArgv,
  dhcpMarkers,
  instanceNamespace,
  instanceWiring,
  listInstances,
  writeInstance,
  type InstanceRecord,
} from './instance-state.ts';
import { renderDomainXml } from './libvirt.ts';
import { deleteNamespace, namespaceExists, namespacePids } from './netns.ts';
import { DHCP_HOOK } from './paths.ts';
import { isOurs, readCmdline, terminate } from './procs.ts';
import { run, runStatus, spawnDetached } from '../exec/run.ts';
import { LabError, LabUsageError } from './topology.ts';
import { lastLogLine, waitFor, type Print } from './util.ts';

export interface CreateOptions {
  name: string;
  network: string;
  host: string;
  securityGroups: string[];
  fixedIp?: string;
  project: string;
  dhcpTimeoutMs: number;
  /** SSH public keys for the metadata service (`--ssh-key`) */
  publicKeys?: Array<{ name: string; key: string }>;
  /** user data for the metadata service, base64 (`--user-data`) */
  userData?: string;
  print: Print;
}

/**
 * The addresses (with prefix) on the instance's eth0 of both families: its DHCP address and what
 * router advertisements (SLAAC) gave it; link-local ones left out. A fresh namespace accepts
 * router advertisements and autoconfigures (accept_ra 1, autoconf 1, forwarding 0), as a guest does.
 */
export async function instanceAddresses(namespace: string, family?: 4 | 6): Promise<string[]> {
  const r = await runStatus([
    'ip',
    '-n',
    namespace,
    '-j',
    ...(family ? [`-${family}`] : []),
    'addr',
    'show',
    'dev',
    'eth0',
    'scope',
    'global',
  ]);
  return r.code === 0 ? addressesOfIpJson(r.stdout) : [];
}

/**
 * The addresses (with prefix) in `ip -j addr show dev X` output. iproute2 leaves an empty object in
 * addr_info for each address its filter (scope, family) drops: those are not addresses.
 */
export function addressesOfIpJson(stdout: string): string[] {
  const links = JSON.parse(stdout || '[]') as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
  return (links[0]?.addr_info ?? []).filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`);
}

const hasIpv4 = (fixedIps: InstanceRecord['port']['fixedIps']) => fixedIps.some((f) => !f.ip_address.includes(':'));

/** The IPv4 address (with prefix) on the instance's eth0, or null. */
export async function instanceAddress(namespace: string): Promise<string | null> {
  return (await instanceAddresses(namespace, 4))[0] ?? null;
}

function dhcpHook(): string {
  if (!existsSync(DHCP_HOOK)) throw new LabError(`${DHCP_HOOK} is missing: run 'npm run build'`);
  try {
    accessSync(DHCP_HOOK, constants.X_OK);
  } catch {
    chmodSync(DHCP_HOOK, statSync(DHCP_HOOK).mode | 0o755); // tsc does not keep the executable bit
  }
  return DHCP_HOOK;
}

/** udhcpc runs the hook by its `#!/usr/bin/env node`: the Node.js running neutrino comes first on PATH. */
export const dhcpHookEnv = (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv => ({
  ...env,
  PATH: [dirname(process.execPath), env.PATH].filter(Boolean).join(':'),
});

export function findInstance(ctx: LabContext, name: string): InstanceRecord {
  const r = listInstances(ctx.paths).find((i) => i.name === name);
  if (!r) throw new LabUsageError(`lab '${ctx.state.lab}' has no instance '${name}'`);
  return r;
}

export async function createInstance(ctx: LabContext, o: CreateOptions): Promise<{ record: InstanceRecord; seconds: number }> {
  const { paths, state } = ctx;
  const namespace = instanceNamespace(state.lab, o.name);
  const hostNamespace = nodeNamespace(state, o.host);
  if (o.host === 'external') throw new LabUsageError('instances run on nodes, not on the external host');
  if (listInstances(paths).some((i) => i.name === o.name) || namespaceExists(namespace))
    throw new LabUsageError(`instance '${o.name}' already exists in lab '${state.lab}'`);
  const hook = dhcpHook();
  const client = adminClient(state);
  const project = await projectId(client, o.project);
  const network = await findNetwork(client, o.network, project);
  const groups = o.securityGroups.length ? await findSecurityGroups(client, o.securityGroups, project) : null;
  const id = randomUUID();
  const port = await createInstancePort(client, {
    name: o.name,
    instanceId: id,
    networkId: network.id,
    project,
    host: o.host,
    securityGroups: groups,
    fixedIp: o.fixedIp,
  });
  const record: InstanceRecord = {
    version: 1,
    id,
    name: o.name,
    host: o.host,
    hostNamespace,
    namespace,
    project: o.project,
    network: { id: network.id, name: network.name, mtu: network.mtu },
    port: { id: port.id, mac: port.mac_address, fixedIps: port.fixed_ips },
    tap: tapName(port.id),
    bridge: bridgeName(network.id),
    dhcpPid: null,
    ip: null,
    ...(o.publicKeys?.length ? { publicKeys: o.publicKeys } : {}),
    ...(o.userData !== undefined ? { userData: o.userData } : {}),
    createdAt: new Date().toISOString(),
  };
  const dir = paths.instanceDir(id);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeInstance(paths, record);
    for (const argv of instanceWiring(record)) await run(argv);
    writeFileSync(
      join(dir, 'libvirt.xml'),
      renderDomainXml({
        id,
        name: o.name,
        interfaces: [{ mac: record.port.mac, bridge: record.bridge, tap: record.tap, mtu: network.mtu }],
      }),
    );
    o.print(
      `instance ${o.name} (${id}) on ${o.host}: port ${port.id}, MAC ${port.mac_address}, ${record.tap} in ${hostNamespace}, eth0 in ${namespace}`,
    );
    // A port with IPv6 addresses only (an IPv6-only network) has no DHCPv4 server to wait for.
    if (hasIpv4(port.fixed_ips)) {
      record.dhcpPid = await spawnDetached(dhcpClientArgv(namespace, hook, join(dir, 'udhcpc.pid')), {
        log: join(dir, 'udhcpc.log'),
        env: dhcpHookEnv(),
      });
      writeInstance(paths, record);
    }
  } catch (e) {
    await removeInstance(ctx, record).catch(() => undefined);
    throw e;
  }
  const seconds = record.dhcpPid ? await waitForLease(ctx, record, o.dhcpTimeoutMs) : 0;
  if (await onStatefulDhcpv6(client, port.fixed_ips)) await takeDhcpv6Lease(record, o);
  return { record, seconds };
}

/**
 * DHCPv6 on a stateful subnet, once (as udhcpc -q): the leased addresses go on eth0 as /128s, their
 * prefix being on-link from the router's advertisements (AdvOnLink, not autonomous). A LabError
 * (instance kept) when no lease comes.
 */
async function takeDhcpv6Lease(r: InstanceRecord, o: Pick<CreateOptions, 'dhcpTimeoutMs' | 'print'>): Promise<void> {
  const noAddress = (why: string) =>
    new LabError(`instance ${r.name} was created but has no DHCPv6 address: ${why}; remove it with 'neutrino instance delete ${r.name}'`);
  // The client sends from eth0's link-local address: it must have passed duplicate address detection.
  await waitFor(
    async () => {
      const out = await runStatus(['ip', '-n', r.namespace, '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
      return /inet6 fe80::/.test(out.stdout) && !/tentative/.test(out.stdout) ? true : null;
    },
    { timeoutMs: o.dhcpTimeoutMs, everyMs: 200, onTimeout: () => noAddress('eth0 has no link-local address') },
  );
  let reply;
  try {
    reply = await dhcpv6Request(r.namespace, 'eth0', r.port.mac, o.dhcpTimeoutMs);
  } catch (e) {
    throw noAddress((e as Error).message.split('\n')[0]!);
  }
  for (const a of reply.addresses) await run(['ip', '-n', r.namespace, 'addr', 'replace', `${a}/128`, 'dev', 'eth0']);
  o.print(`instance ${r.name}: ${reply.addresses.join(', ')} by DHCPv6`);
}

/** Waits for the DHCP address and records it; a LabError (instance kept) when none comes. */
async function waitForLease(ctx: LabContext, r: InstanceRecord, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const log = join(ctx.paths.instanceDir(r.id), 'udhcpc.log');
  const noAddress = (why: string) =>
    new LabError(
      `instance ${r.name} was created but has no address: ${why}; is a ${AGENT_DHCP} serving network ${r.network.name}? log: ${log}; remove it with 'neutrino instance delete ${r.name}'`,
    );
  r.ip = await waitFor(
    async () => {
      const ip = await instanceAddress(r.namespace);
      if (ip) return ip;
      const client = { pid: r.dhcpPid!, markers: dhcpMarkers(ctx.paths.instanceDir(r.id)) };
      if (!isOurs(client)) {
        // Looked at again a moment later: udhcpc -q quits once its hook has applied the lease (between
        // the two looks), and a process's command line reads empty while nsenter execs udhcpc.
        await new Promise((done) => setTimeout(done, 200));
        const late = await instanceAddress(r.namespace);
        if (late) return late;
        if (!isOurs(client)) throw noAddress(`the DHCP client exited without an address (${lastLogLine(log)})`);
      }
      return null;
    },
    { timeoutMs, everyMs: 200, onTimeout: () => noAddress(`no DHCP answer within ${timeoutMs / 1000} s (udhcpc keeps asking)`) },
  );
  writeInstance(ctx.paths, r);
  return (Date.now() - t0) / 1000;
}

/** Ends the instance's processes, deletes its namespace (which removes eth0 and the tap), port and files. */
async function removeInstance(ctx: LabContext, r: InstanceRecord): Promise<string[]> {
  const dir = ctx.paths.instanceDir(r.id);
  const ended = r.dhcpPid ? await terminate([{ pid: r.dhcpPid, markers: dhcpMarkers(dir), label: 'DHCP client' }]) : [];
  for (const pid of await namespacePids(r.namespace)) {
    const cmd = readCmdline(pid);
    if (cmd) ended.push(...(await terminate([{ pid, markers: [cmd[0]], label: cmd[0] }])));
  }
  await deleteNamespace(r.namespace);
  if (namespaceExists(r.hostNamespace)) await runStatus(['ip', '-n', r.hostNamespace, 'link', 'delete', r.tap]); // normally gone with its peer
  await deletePort(adminClient(ctx.state), r.port.id);
  rmSync(dir, { recursive: true, force: true });
  return ended;
}

export async function deleteInstance(ctx: LabContext, name: string, print: Print): Promise<void> {
  const r = findInstance(ctx, name);
  const ended = await removeInstance(ctx, r);
  print(
    `instance ${name} (${r.id}) deleted: port ${r.port.id}, namespace ${r.namespace}${ended.length ? `, ended ${ended.join(', ')}` : ''}`,
  );
}
