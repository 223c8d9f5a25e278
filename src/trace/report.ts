// The trace report: the one artifact every output (table, JSON, dot, mermaid) is rendered from.
// Statuses and reasons are closed vocabularies so monitoring and tests can rely on them. Pure types.

// `differs`: the static check found a difference, but the probe measured the traffic passing the
// hop; `unknown`: the hop's evidence could not be read.
export const HOP_STATUSES = ['ok', 'missing', 'mismatch', 'down', 'dropped', 'not_reached', 'unknown', 'differs'] as const;
export type HopStatus = (typeof HOP_STATUSES)[number];

/** The path as a whole: no hop broken or unchecked, a hop broken, or no hop broken but some unchecked. */
export const VERDICTS = ['healthy', 'broken', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Why a hop is broken, in Neutron's terms (documented in docs/trace.md). */
export const REASONS = [
  'FIP_NOT_FOUND',
  'FIP_NOT_ASSOCIATED',
  'ROUTER_NOT_SCHEDULED',
  'NO_ROUTER_INTERFACE',
  'NO_ROUTER_GATEWAY',
  'PORT_NOT_BOUND',
  'PORT_DOWN',
  'AGENT_DOWN',
  'NODE_UNREADABLE',
  'API_UNREADABLE',
  'CONFIG_MISSING',
  'NAMESPACE_MISSING',
  'DEVICE_MISSING',
  'DEVICE_DOWN',
  'NOT_IN_BRIDGE',
  'UPLINK_MISSING',
  'VLAN_SUBINTERFACE_MISSING',
  'VLAN_MISCONFIGURED',
  'VLAN_PARENT_DOWN',
  'MTU_MISMATCH',
  'VETH_PEER_MISMATCH',
  'VXLAN_MISCONFIGURED',
  'NO_FDB_ENTRY',
  'NO_ARP_ENTRY',
  'ADDRESS_MISSING',
  'NO_ROUTE',
  'FORWARDING_DISABLED',
  'NAT_RULE_MISSING',
  'SG_CHAIN_MISSING',
  'SG_DENIED',
  'INSTANCE_NIC_MISMATCH',
  'PACKETS_LOST',
  // the DHCP leg (dhcp.ts)
  'NO_DHCP_AGENT',
  'DHCP_AGENT_DOWN',
  'DHCP_DISABLED',
  'DHCP_NAMESPACE_MISSING',
  'DHCP_PORT_NOT_IN_BRIDGE',
  'DNSMASQ_NOT_RUNNING',
  'DHCP_OPTIONS_MISMATCH',
  'DHCP_HOST_ENTRY_MISSING',
  'SG_DHCP_BLOCKED',
  // IPv6 (ipv6.ts)
  'RADVD_NOT_RUNNING',
  'RADVD_CONFIG_MISMATCH',
  'SG_ICMPV6_BLOCKED',
  // the metadata path (metadata.ts)
  'METADATA_REDIRECT_MISSING',
  'METADATA_PROXY_NOT_RUNNING',
  'METADATA_AGENT_DOWN',
  'METADATA_ROUTE_MISSING',
  // HA routers (ha.ts)
  'HA_KEEPALIVED_NOT_RUNNING',
  'HA_NO_PRIMARY',
  'HA_SPLIT_BRAIN',
  'HA_VIPS_ON_STANDBY',
  'HA_STATE_MISMATCH',
  'HA_NONLOCAL_BIND_OFF',
] as const;
export type Reason = (typeof REASONS)[number];

export interface ResourceRef {
  type: 'floatingip' | 'port' | 'network' | 'subnet' | 'router' | 'security_group' | 'agent' | 'instance' | 'config';
  id: string;
  name?: string;
}

export interface EvidenceLine {
  /** the command as run on the node (argv joined), e.g. `ip -j -d link show` in a namespace */
  command: string;
  /** the raw line or JSON object it printed that the check used; absent when nothing matched */
  line?: string;
}

/** What a probe saw on one hop's device. */
export interface HopCapture {
  /** tcpdump filter used on this device */
  filter: string;
  request: number;
  reply: number | null;
  /** pcap file, relative to the capture directory */
  pcap?: string;
}

export interface Hop {
  index: number;
  /** 'request' toward the target, 'reply' back */
  leg: 'request' | 'reply';
  /** Neutron host name; '' for checks on API resources alone */
  node: string;
  /** namespace on that node: '' = the node's own */
  namespace: string;
  device: string | null;
  resource: ResourceRef;
  /** what is checked, short: 'bridge port', 'vxlan', 'fdb', 'dnat', … */
  check: string;
  expected: Record<string, unknown>;
  observed: Record<string, unknown> | null;
  status: HopStatus;
  reason?: Reason;
  /** the explanation when not ok */
  cause?: string;
  /** a setting the expected value comes from, e.g. `[vxlan] local_ip (/etc/…/linuxbridge_agent.ini)` */
  setting?: string;
  evidence: EvidenceLine[];
  capture?: HopCapture;
}

export interface BrokenHop {
  index: number;
  node: string;
  namespace: string;
  device: string | null;
  reason: Reason;
  cause: string;
}

export interface TraceTarget {
  kind: 'floatingip' | 'port' | 'instance' | 'dhcp';
  /** what the user asked for */
  query: string;
  floatingip?: { id: string; address: string };
  port?: { id: string; fixed_ip: string | null; mac: string; host: string; network_id: string };
  router?: { id: string; name: string; host: string | null };
  network?: { id: string; name: string; type: string; segmentation_id: number | null };
  flow: { protocol: 'icmp' | 'tcp' | 'udp'; port?: number };
  /** port and instance traces: the address the flow goes to */
  destination?: string;
}

export interface TraceReport {
  schema: 'neutrino.trace/v1';
  verdict: Verdict;
  /** verdict === 'healthy' */
  ok: boolean;
  target: TraceTarget;
  hops: Hop[];
  firstBroken: BrokenHop | null;
  /** problems worth knowing that do not break the path (an agent down while the kernel state still holds) */
  warnings: string[];
  /** where the data came from: 'live' or the snapshot directory */
  source: string;
  took_ms: number;
  probe?: { protocol: string; from: string; sent: number; answered: number; captureDir?: string };
  /** trace instance --probe: the DHCP exchange probed on the DHCP leg (`probe` is the path's) */
  dhcpProbe?: { protocol: string; from: string; sent: number; answered: number; captureDir?: string };
}
