// Kernel objects as plain data: what neutrino wants (…Spec, Desired…) and what the kernel has (Observed…), kept apart.

/**
 * Which network namespace an object lives in. HOST ('') is the node's own namespace (where the
 * agent runs); every other key is the name of a namespace under /run/netns (qrouter-…, qdhcp-…).
 */
export type NsKey = string;
export const HOST: NsKey = '';

/** One node, per namespace. */
export interface NodeState<NS> {
  namespaces: Record<NsKey, NS>;
}
/**
 * `owner` names the node when several nodes share one /run/netns (the lab): the namespaces a
 * node creates carry its name in their mark, and it deletes only those.
 */
export interface DesiredNode extends NodeState<DesiredNamespace> {
  owner?: string;
}
export type ObservedNode = NodeState<ObservedNamespace>;

// ---------------------------------------------------------------- desired

/** Attributes left undefined are "don't care"; master null means "not enslaved". */
interface LinkSpecBase {
  name: string;
  mtu?: number;
  up?: boolean;
  master?: string | null;
  mac?: string;
}
/** Created with forward_delay 0 and STP off (as Neutron's ensure_bridge). */
export interface BridgeSpec extends LinkSpecBase {
  kind: 'bridge';
}
/** One end of a veth pair; the other end is its own VethSpec in `peer.netns`. */
export interface VethSpec extends LinkSpecBase {
  kind: 'veth';
  peer: { name: string; netns: NsKey };
}
export interface TapSpec extends LinkSpecBase {
  kind: 'tap';
}
export interface VxlanParams {
  vni: number;
  /** VTEP address (Neutron sets it with l2population). */
  local?: string;
  /** Underlay device (the NIC holding local_ip). */
  dev?: string;
  dstport: number;
  learning: boolean;
  /** ARP proxy: the kernel answers ARP from the neighbour table. */
  proxy: boolean;
  /** Multicast group the device floods BUM traffic to (Neutron's VXLAN MCAST mode, without l2population). */
  group?: string;
  /** IP TTL of the encapsulating packets; unset: the kernel's (0, inherit/auto). */
  ttl?: number;
  /** IP TOS of the encapsulating packets; unset: the kernel's (0). */
  tos?: number;
}
export interface VxlanSpec extends LinkSpecBase {
  kind: 'vxlan';
  vxlan: VxlanParams;
}
/** An 802.1Q subinterface `<nic>.<vid>` of `dev` (Neutron's ensure_vlan). */
export interface VlanParams {
  id: number;
  dev: string;
}
export interface VlanSpec extends LinkSpecBase {
  kind: 'vlan';
  vlan: VlanParams;
}
/** A device neutrino does not create (a NIC, `lo`): it must exist; only its attributes are set; never deleted. */
export interface DeviceSpec extends LinkSpecBase {
  kind: 'device';
}
export type LinkSpec = BridgeSpec | VethSpec | TapSpec | VxlanSpec | VlanSpec | DeviceSpec;
export type LinkKind = LinkSpec['kind'];

/** `address` is 'ip/prefixlen'. */
export interface AddressSpec {
  dev: string;
  address: string;
}

/** One path of a multipath (ECMP) route. */
export interface NexthopSpec {
  via: string;
  dev: string;
}

/**
 * A route in the main table. `dst` is 'default' or a prefix; family is taken from dst/via, else
 * `family`, else 4. `nexthops` (two or more) makes it a multipath route, with no `via` or `dev`.
 */
export interface RouteSpec {
  dst: string;
  via?: string;
  dev?: string;
  nexthops?: NexthopSpec[];
  scope?: 'link' | 'global' | 'host';
  metric?: number;
  src?: string;
  family?: 4 | 6;
}

/** The devices a route leaves by: its `dev`, or its paths' devices. */
export const routeDevices = (r: RouteSpec): string[] => (r.nexthops ? r.nexthops.map((h) => h.dev) : r.dev !== undefined ? [r.dev] : []);

/** A static forwarding entry on a VXLAN device (`bridge fdb … self permanent`); mac 00:…:00 = flooding. */
export interface FdbSpec {
  dev: string;
  mac: string;
  dst: string;
}

/** A permanent neighbour entry (l2population ARP responder). */
export interface NeighSpec {
  dev: string;
  ip: string;
  lladdr: string;
}

/** sysctl(8) notation: 'net.ipv4.ip_forward'; a dot inside a device name written as '/'. */
export interface SysctlSpec {
  key: string;
  value: string;
}

export type TableName = 'filter' | 'nat' | 'mangle' | 'raw';
export const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/**
 * A chain and its rules in iptables-save's canonical form without the '-A CHAIN' prefix. For an
 * owned chain (neutron-…) these are all of its rules; for a built-in chain they are neutrino's jump
 * rules, kept at the top of the chain in this order.
 */
export interface ChainSpec {
  name: string;
  rules: string[];
}
export type IptablesSpec = Partial<Record<TableName, ChainSpec[]>>;

/**
 * A daemon neutrino runs (dnsmasq). `argv` must daemonize and write `pidFile`; `files` are written
 * before it starts; a change of files alone sends SIGHUP.
 */
export interface ProcessSpec {
  id: string;
  argv: string[];
  pidFile: string;
  files: { path: string; content: string }[];
  /** What new file contents take: SIGHUP (the default: dnsmasq, radvd re-read them) or a restart (haproxy). */
  onNewFiles?: 'reload' | 'restart';
  /**
   * An IPv6 address (no prefix) on a device of the namespace that the daemon binds: it is started
   * once the address has left duplicate address detection (a tentative address cannot be bound).
   */
  waitAddress?: { dev: string; address: string };
}

/** Set families (ipset's names): IPv4 and IPv6. */
export type IpsetFamily = 'inet' | 'inet6';

/**
 * An IP set (ipset(8)), as Neutron's IpsetManager makes them for remote-group rules: created with
 * `create NAME TYPE family FAMILY` (the kernel's defaults for everything else), then its members.
 * Members are in `ipset save`'s canonical form: a host address bare (no /32 or /128), a network
 * with its host bits cleared ('10.0.0.0/24'); never a /0 (ipset refuses it: Neutron splits it
 * into two /1s).
 */
export interface IpsetSpec {
  name: string;
  type: string;
  family: IpsetFamily;
  members: string[];
}

export interface DesiredNamespace {
  links: LinkSpec[];
  addresses: AddressSpec[];
  routes: RouteSpec[];
  fdb: FdbSpec[];
  neigh: NeighSpec[];
  sysctls: SysctlSpec[];
  iptables: IptablesSpec;
  /**
   * The IPv6 tables (ip6tables), same shape as `iptables`. Absent = none wanted: owned chains and
   * jumps found there are removed, as in `iptables`.
   */
  ip6tables?: IptablesSpec;
  /**
   * IP sets; the rules of this namespace may match them (`-m set --match-set NAME src`): iptables
   * rules sets of family inet, ip6tables rules sets of family inet6.
   */
  ipsets: IpsetSpec[];
  processes: ProcessSpec[];
  /**
   * Devices whose further addresses a daemon of this namespace manages (keepalived's VIPs on an HA
   * router's devices): addresses there that `addresses` does not list are left alone, not removed.
   */
  daemonAddressDevices?: string[];
}

// ---------------------------------------------------------------- observed

export interface ObservedLink {
  ifindex: number;
  name: string;
  /** 'bridge' | 'veth' | 'vxlan' | 'tap' | 'tun' | other info_kind; 'device' when the kernel reports none (NIC, lo). */
  kind: string;
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  operstate: string;
  master: string | null;
  mac: string;
  /** ifalias — carries neutrino's ownership mark. */
  alias: string | null;
  /** veth: the other end. `netns`/`name` are filled in when it could be resolved. */
  peer?: { ifindex: number; netnsid?: number; netns?: NsKey; name?: string };
  vxlan?: VxlanParams;
  /** vlan: its id, and its parent when in the same namespace */
  vlan?: { id: number; dev?: string };
  bridge?: { forwardDelay: number; stp: boolean };
  /** As a bridge port: STP state ('forwarding', 'disabled', …) and flags. */
  port?: BridgePortState;
}

export interface BridgePortState {
  state: string;
  learning: boolean;
  flood: boolean;
}

export interface ObservedAddress {
  dev: string;
  address: string;
  family: 4 | 6;
  scope: string;
}

export interface ObservedRoute {
  dst: string;
  family: 4 | 6;
  via?: string;
  dev?: string;
  /** a multipath route's paths (then no via or dev) */
  nexthops?: NexthopSpec[];
  protocol: string;
  scope: string;
  metric?: number;
  src?: string;
  type: string;
}

export interface ObservedFdb {
  mac: string;
  dev: string;
  dst?: string;
  master?: string;
  flags: string[];
  state: string;
  vlan?: number;
}

export interface ObservedNeigh {
  ip: string;
  dev: string;
  lladdr?: string;
  state: string[];
}

export interface ObservedChain {
  name: string;
  /** Policy of a built-in chain; null for user chains. */
  policy: string | null;
  rules: string[];
  /** Not read: taken from the desired state of the last converged pass (exec/reconcile.ts). */
  assumed?: true;
}
export type ObservedTables = Partial<Record<TableName, ObservedChain[]>>;

/** A set as `ipset save` prints it. */
export interface ObservedIpset {
  name: string;
  type: string;
  /** From the header ('inet', 'inet6'); null for types without one (list:set). */
  family: string | null;
  /** The rest of the `create` line as printed (hashsize, maxelem, bucketsize, initval, …). */
  options: string;
  members: string[];
}

export interface ObservedProcess {
  id: string;
  pidFile: string;
  /** null when not running (no pid file, dead pid, or a pid that is not this process). */
  pid: number | null;
  argv: string[] | null;
  files: { path: string; content: string | null }[];
}

export interface ObservedNamespace {
  /** neutrino's mark on its `lo` ('neutrino' or 'neutrino:<owner>'), null when not neutrino's. Always null for HOST. */
  mark: string | null;
  links: ObservedLink[];
  addresses: ObservedAddress[];
  routes: ObservedRoute[];
  fdb: ObservedFdb[];
  neigh: ObservedNeigh[];
  /** Only the keys that were asked for; a missing key is absent. */
  sysctls: Record<string, string>;
  iptables: ObservedTables;
  /** `ip6tables-save`; absent when not read (states saved before IPv6 tables were observed). */
  ip6tables?: ObservedTables;
  /** Only where they were asked for (ObserveScope.ipsets); empty elsewhere. */
  ipsets: ObservedIpset[];
  processes: ObservedProcess[];
}

export function emptyDesiredNamespace(): DesiredNamespace {
  return { links: [], addresses: [], routes: [], fdb: [], neigh: [], sysctls: [], iptables: {}, ipsets: [], processes: [] };
}

export function emptyObservedNamespace(mark: string | null = null): ObservedNamespace {
  return { mark, links: [], addresses: [], routes: [], fdb: [], neigh: [], sysctls: {}, iptables: {}, ipsets: [], processes: [] };
}
