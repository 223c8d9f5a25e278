// Neutron's Linux bridge naming scheme (the contract with operators) and the validators every name passes before it reaches a command.
import { createHash } from 'node:crypto';
import { BoundedMemo } from './bounded-memo.ts';

/** Linux limit (IFNAMSIZ - 1). */
export const DEVICE_NAME_MAX = 15;
/** Neutron keeps a 3-char prefix + the first 11 characters of the resource id (LINUX_DEV_LEN = 14). */
export const RESOURCE_ID_LENGTH = 11;
/** VNI is a 24-bit field. */
export const MAX_VXLAN_VNI = 2 ** 24 - 1;
/** iptables chain names are limited to 28 characters (XT_EXTENSION_MAXNAMELEN - 1). */
export const CHAIN_NAME_MAX = 28;
/**
 * ipset names: IPSET_MAXNAMELEN is 32 with the NUL; Neutron keeps two more for the '-n' suffix of
 * the set it builds and swaps in (ipset_manager.IPSET_NAME_MAX_LENGTH = 31 - len('-n')).
 */
export const IPSET_NAME_MAX = 29;

/** Thrown when a name or value is not safe to hand to a command. */
export class InvalidName extends Error {
  readonly what: string;
  readonly value: unknown;

  constructor(what: string, value: unknown) {
    super(`invalid ${what}: ${JSON.stringify(value)}`);
    this.what = what;
    this.value = value;
    this.name = 'InvalidName';
  }
}

const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const NETNS = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const CHAIN = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const IPSET = /^[A-Za-z0-9_][A-Za-z0-9_.:+-]*$/;
const RESOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

export function isInterfaceName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= DEVICE_NAME_MAX && IFNAME.test(name);
}

export function isNamespaceName(name: unknown): name is string {
  // A namespace name is a file name under /run/netns.
  return typeof name === 'string' && name.length <= 255 && NETNS.test(name);
}

export function isChainName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= CHAIN_NAME_MAX && CHAIN.test(name);
}

export function isIpsetName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= IPSET_NAME_MAX && IPSET.test(name);
}

export function assertInterfaceName(name: unknown): string {
  if (!isInterfaceName(name)) throw new InvalidName('interface name', name);
  return name;
}

export function assertNamespaceName(name: unknown): string {
  if (!isNamespaceName(name)) throw new InvalidName('namespace name', name);
  return name;
}

export function assertChainName(name: unknown): string {
  if (!isChainName(name)) throw new InvalidName('iptables chain name', name);
  return name;
}

export function assertIpsetName(name: unknown): string {
  if (!isIpsetName(name)) throw new InvalidName('ipset name', name);
  return name;
}

function resourceId(id: string): string {
  if (!RESOURCE_ID.test(id)) throw new InvalidName('resource id', id);
  return id;
}

/**
 * Device names made and checked before: every pass asks again for each port's, on a big node a
 * few thousand regular-expression tests a pass.
 */
const madeDevices = new BoundedMemo<string>(16_384);

const device = (prefix: string, id: string): string =>
  madeDevices.get(prefix + id, () => assertInterfaceName(prefix + resourceId(id).slice(0, RESOURCE_ID_LENGTH)));

/** `brq` + network id[:11] — the per-network bridge. */
export const bridgeName = (networkId: string): string => device('brq', networkId);
/** `tap` + port id[:11] — the host side of every port (VM tap or veth end). */
export const tapName = (portId: string): string => device('tap', portId);
/** `qr-` + port id[:11] — router interface, in the router namespace. */
export const qrName = (portId: string): string => device('qr-', portId);
/** `qg-` + port id[:11] — router gateway, in the router namespace. */
export const qgName = (portId: string): string => device('qg-', portId);
/** `ha-` + port id[:11] — an HA router's port on its HA network (VRRP), in the router namespace. */
export const haName = (portId: string): string => device('ha-', portId);
/** `ns-` + port id[:11] — DHCP port, in the DHCP namespace. */
export const nsName = (portId: string): string => device('ns-', portId);

export const VXLAN_PREFIX = 'vxlan-';

/** `vxlan-<VNI>`, VNI in 0..2^24-1. */
export function vxlanName(vni: number): string {
  if (!Number.isInteger(vni) || vni < 0 || vni > MAX_VXLAN_VNI) throw new InvalidName('VNI', vni);
  return `${VXLAN_PREFIX}${vni}`;
}

/** 802.1Q VLAN ids a subinterface may carry. */
export const MIN_VLAN_ID = 1;
export const MAX_VLAN_ID = 4094;
/** The longest `.<vid>` (Neutron's MAX_VLAN_POSTFIX_LEN). */
const MAX_VLAN_POSTFIX = 5;
/** Characters of the SHA-1 a shortened name keeps (neutron-lib's INTERFACE_HASH_LEN). */
const INTERFACE_HASH_LEN = 6;

/**
 * The VLAN subinterface of a NIC: `<nic>.<vid>` (Neutron's get_subinterface_name); when that is too
 * long, the NIC's name is cut and a hash of it appended, so different NICs keep different names.
 */
export function vlanSubinterfaceName(nic: string, vid: number): string {
  if (!Number.isInteger(vid) || vid < MIN_VLAN_ID || vid > MAX_VLAN_ID) throw new InvalidName('VLAN id', vid);
  const postfix = `.${vid}`;
  let prefix = assertInterfaceName(nic);
  const maxPrefix = DEVICE_NAME_MAX - MAX_VLAN_POSTFIX;
  if (prefix.length + postfix.length > DEVICE_NAME_MAX && prefix.length > maxPrefix) {
    const hash = createHash('sha1').update(nic).digest('hex').slice(0, INTERFACE_HASH_LEN);
    prefix = nic.slice(0, maxPrefix - INTERFACE_HASH_LEN) + hash;
  }
  return assertInterfaceName(prefix + postfix);
}

/** Neutron's namespace prefixes (NS_PREFIX of the L3 and DHCP agents). */
export const ROUTER_NS_PREFIX = 'qrouter-';
export const DHCP_NS_PREFIX = 'qdhcp-';
/** `qrouter-` + full router id. */
export const routerNamespace = (routerId: string): string => assertNamespaceName(ROUTER_NS_PREFIX + resourceId(routerId));
/** `qdhcp-` + full network id. */
export const dhcpNamespace = (networkId: string): string => assertNamespaceName(DHCP_NS_PREFIX + resourceId(networkId));

/** Wrap prefixes: basename(argv[0])[:16] of each Neutron agent, plus `-`. */
export const WRAP = {
  linuxbridge: 'neutron-linuxbri-',
  l3: 'neutron-l3-agent-',
  dhcp: 'neutron-dhcp-age-',
} as const;

/** Chains shared by all wrappers (not wrapped). */
export const FILTER_TOP = 'neutron-filter-top';
export const POSTROUTING_BOTTOM = 'neutron-postrouting-bottom';

/** A wrapped chain name, e.g. wrapChain('l3', 'snat') = 'neutron-l3-agent-snat'. The chain part is cut to 11. */
export function wrapChain(agent: keyof typeof WRAP, chain: string): string {
  return assertChainName(WRAP[agent] + chain.slice(0, 11));
}

/** Per-port security group chains: i (to the VM), o (from the VM), s (anti-spoofing), + port id[:10]. */
export function sgChains(portId: string): { ingress: string; egress: string; spoof: string } {
  const suffix = resourceId(portId).slice(0, 10);
  return {
    ingress: wrapChain('linuxbridge', 'i' + suffix),
    egress: wrapChain('linuxbridge', 'o' + suffix),
    spoof: wrapChain('linuxbridge', 's' + suffix),
  };
}

/**
 * The set of a remote security group's member addresses: 'N' + ethertype + group id, cut to 29
 * (IpsetManager.get_name: NET_PREFIX + ethertype + id), e.g. 'NIPv45b2b8d0c-1c7e-4d0a-9a36-'.
 */
export function remoteGroupIpset(groupId: string, ethertype: 'IPv4' | 'IPv6'): string {
  return assertIpsetName(`N${ethertype}${resourceId(groupId)}`.slice(0, IPSET_NAME_MAX));
}

/**
 * A per-device sysctl key in sysctl(8)'s notation: dots separate components, so a dot inside a
 * device name (eth1.100) is written as '/'.
 */
export function deviceSysctl(family: 'ipv4' | 'ipv6', dev: string, key: string): string {
  return `net.${family}.conf.${assertInterfaceName(dev).replaceAll('.', '/')}.${key}`;
}
