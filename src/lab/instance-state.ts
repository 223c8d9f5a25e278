// An instance's record (<lab dir>/instances/<id>/instance.json), its names, and the commands that
// wire it (pure argv builders): namespace <lab>-i-<name>, a veth whose host end is tap<port[:11]> in
// the node's namespace and whose other end is eth0 with the port's MAC, and the DHCP client.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPaths } from './paths.ts';
import { inNetns } from '../exec/run.ts';
import { LabError, LabUsageError } from './topology.ts';

export interface InstanceRecord {
  version: 1;
  id: string;
  name: string;
  host: string;
  /** the node's namespace, where the tap lives */
  hostNamespace: string;
  namespace: string;
  project: string;
  network: { id: string; name: string; mtu: number };
  port: { id: string; mac: string; fixedIps: Array<{ subnet_id: string; ip_address: string }> };
  tap: string;
  bridge: string;
  dhcpPid: number | null;
  /** the address DHCP gave, with its prefix length, once known */
  ip: string | null;
  /** the SSH public keys the metadata service hands the instance (Nova's key pair: name and key) */
  publicKeys?: Array<{ name: string; key: string }>;
  /** the instance's user data, base64-encoded as Nova stores it (`--user-data`) */
  userData?: string;
  createdAt: string;
}

/** Nova's MAX_USERDATA_SIZE: the base64 text, in bytes. */
export const MAX_USER_DATA = 65535;

/** `userData` (base64) if Nova would take it. */
export function checkUserData(userData: string): string {
  if (userData.length > MAX_USER_DATA)
    throw new LabUsageError(`User data too large. User data must be no larger than ${MAX_USER_DATA} bytes once base64 encoded.`);
  return userData;
}

const INSTANCE_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function checkInstanceName(name: string): void {
  if (!INSTANCE_NAME.test(name))
    throw new LabUsageError(`invalid instance name '${name}': 1-32 lowercase letters, digits and '-', starting with a letter or digit`);
}

export function instanceNamespace(lab: string, name: string): string {
  checkInstanceName(name);
  return `${lab}-i-${name}`;
}

/**
 * Creates the instance's namespace and NIC; the tap's MTU is the network's, as libvirt sets it.
 * The NIC takes routes from router advertisements' route information options (accepting up to
 * /128, as a cloud image must for the route to fe80::a9fe:a9fe, the IPv6 metadata address, that
 * Neutron's radvd advertises).
 */
export function instanceWiring(r: Pick<InstanceRecord, 'namespace' | 'hostNamespace' | 'tap' | 'port' | 'network'>): string[][] {
  const ns = r.namespace;
  return [
    ['ip', 'netns', 'add', ns],
    ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
    inNetns(['sysctl', '-qw', 'net.ipv6.conf.default.accept_ra_rt_info_max_plen=128'], ns),
    ['ip', 'link', 'add', r.tap, 'netns', r.hostNamespace, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns],
    ['ip', '-n', ns, 'link', 'set', 'eth0', 'address', r.port.mac],
    ['ip', '-n', r.hostNamespace, 'link', 'set', r.tap, 'mtu', String(r.network.mtu)],
    ['ip', '-n', ns, 'link', 'set', 'eth0', 'up'],
    ['ip', '-n', r.hostNamespace, 'link', 'set', r.tap, 'up'],
  ];
}

/**
 * busybox udhcpc in the instance: foreground, quits once it has a lease, asks for the MTU and
 * classless routes, and retries quickly (the DHCP agent may still be starting dnsmasq).
 */
export function dhcpClientArgv(namespace: string, hook: string, pidFile: string): string[] {
  return inNetns(
    ['udhcpc', '-i', 'eth0', '-f', '-q', '-O', 'mtu', '-O', 'staticroutes', '-t', '5', '-T', '2', '-A', '3', '-p', pidFile, '-s', hook],
    namespace,
  );
}

/** The instance dir is in the udhcpc command line (its pid file), which makes the PID checkable. */
export const dhcpMarkers = (instanceDir: string) => ['udhcpc', instanceDir];

export const instanceJson = (paths: LabPaths, id: string) => join(paths.instanceDir(id), 'instance.json');

export function writeInstance(paths: LabPaths, r: InstanceRecord): void {
  const file = instanceJson(paths, r.id);
  writeFileSync(`${file}.tmp`, JSON.stringify(r, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function parseInstance(text: string): InstanceRecord {
  const r = JSON.parse(text) as InstanceRecord;
  if (r?.version !== 1 || typeof r.id !== 'string' || typeof r.name !== 'string') throw new LabError('damaged instance.json');
  checkInstanceName(r.name);
  return r;
}

/** Every instance record of the lab; damaged ones are skipped. */
export function listInstances(paths: LabPaths): InstanceRecord[] {
  if (!existsSync(paths.instancesDir)) return [];
  const out: InstanceRecord[] = [];
  for (const id of readdirSync(paths.instancesDir)) {
    try {
      out.push(parseInstance(readFileSync(instanceJson(paths, id), 'utf8')));
    } catch {
      /* half-written or foreign: `lab down` still removes the whole dir */
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const PUBLIC_KEY = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( [^\r\n]*)?$/;
const KEY_NAME = /^[A-Za-z0-9 _.@-]{1,255}$/;

/**
 * The public key of an OpenSSH .pub file's text (its first line), named `name`: what `instance
 * create --ssh-key FILE --key-name NAME` stores for the metadata service. Pure.
 */
export function publicKeyOf(text: string, name: string, file: string): { name: string; key: string } {
  if (!KEY_NAME.test(name)) throw new LabUsageError(`invalid key name '${name}': letters, digits, spaces and _.@- only`);
  const key = text.split('\n')[0]!.trim();
  if (!PUBLIC_KEY.test(key)) throw new LabUsageError(`${file} holds no OpenSSH public key (expected e.g. 'ssh-ed25519 AAAA… comment')`);
  return { name, key };
}
