// What the tracer reads, as plain data: the cloud's resources from the Networking API (standard
// Neutron attributes only) and, per Neutron host, the raw output of the commands run on that node.
// A live trace collects one; `--record DIR` saves it; `--snapshot DIR` traces from a saved one with
// no root and no live system. Raw command output is kept (not parsed state) so a snapshot is
// evidence, and parsing stays the same code as the agent's (src/observe).
import type { NsKey } from '../kernel/types.ts';
import type { RawNamespace } from '../observe/node.ts';

/** API objects exactly as the Networking API returns them (Neutron's attribute names). */
export type ApiObject = Record<string, unknown> & { id: string };

export interface ApiResources {
  networks: ApiObject[];
  subnets: ApiObject[];
  ports: ApiObject[];
  routers: ApiObject[];
  floatingips: ApiObject[];
  /**
   * floating IP id → its forwardings as GET /v2.0/floatingips/{id}/port_forwardings shows them, read
   * for the floating IPs whose `port_forwardings` list a range (which shows no port there); absent
   * when none does, and in older snapshots
   */
  port_forwardings?: Record<string, ApiObject[]>;
  /** each with its `security_group_rules` */
  security_groups: ApiObject[];
  /** the address groups some rule names as its remote (absent when none is named, and in older snapshots) */
  address_groups?: ApiObject[];
  agents: ApiObject[];
  /** router id → `host` of the L3 agents hosting it (GET /v2.0/routers/{id}/l3-agents) */
  router_hosts: Record<string, string[]>;
  /**
   * HA router id → host → the `ha_state` its L3 agent reported ('active', 'standby', …), from the
   * same call; absent in older snapshots and when the call is refused or shows no states.
   */
  router_ha_states?: Record<string, Record<string, string>>;
  /** network id → `host` of the DHCP agents serving it (GET /v2.0/networks/{id}/dhcp-agents) */
  dhcp_hosts: Record<string, string[]>;
  /** what could not be read or was read another way, in words (e.g. l3-agents refused: hosts from binding:host_id) */
  errors?: string[];
}

/** One command run on a node, kept as evidence. */
export interface Evidence {
  /** argv as run (inside the node, before any access prefix such as nsenter or ssh) */
  argv: string[];
  /** namespace key: '' = the node's own namespace */
  namespace: NsKey;
  stdout: string;
  /** set when the command failed */
  error?: string;
}

/** A command as run inside the node (before any access prefix such as nsenter or ssh), with its standard input. */
export interface CommandLine {
  argv: string[];
  stdin?: string;
}

/**
 * What runs in one qdhcp- namespace, read without assuming Neutron's paths: the PIDs living in it
 * (`ip netns pids NS`), their command lines (/proc/PID/cmdline), and the files dnsmasq's own
 * arguments name (--dhcp-hostsfile, --dhcp-optsfile, --dhcp-leasefile).
 */
export interface DhcpNamespaceDump {
  /** null when they could not be listed */
  pids: number[] | null;
  /** PID → argv; null when it could not be read (the process ended meanwhile) */
  cmdlines: Record<string, string[] | null>;
  /** path → text; null when it does not exist or could not be read */
  files: Record<string, string | null>;
}

export interface NodeDump {
  /** Neutron host name (binding:host_id, the agents' host) */
  host: string;
  /** how it was reached: 'local', 'netns:NAME' or 'ssh:USER@ADDRESS' */
  access: string;
  collectedAt: string;
  /** the Linux bridge agent's configuration file (linuxbridge_agent.ini layout); text null when unreadable */
  agentConfig: { path: string; text: string | null };
  /** raw observe output per namespace ('' = the node's own); null = the namespace does not exist on the node */
  namespaces: Record<NsKey, RawNamespace | null>;
  /** `conntrack -L` output per namespace where it was read (router namespaces) */
  conntrack: Record<NsKey, string>;
  /** instance domain XML (nova's instances/<id>/libvirt.xml) per instance id (a port's device_id); null when absent */
  instances: Record<string, { path: string; xml: string | null }>;
  /** what could not be read, in words */
  errors: string[];
  /**
   * The IPv4 route table of each instance whose namespace the node can enter (a lab's instances;
   * absent for a cloud's guests, which the tracer cannot enter), by instance id: the output of
   * `ip -4 -j route show table main` there, null when it could not be read.
   */
  instanceRoutes?: Record<string, { namespace: string; routes: string | null }>;
  /** the DHCP namespaces' processes and dnsmasq files, per qdhcp- namespace that exists (absent in older snapshots) */
  dhcp?: Record<NsKey, DhcpNamespaceDump>;
  /**
   * The processes of router namespaces where the plan runs a daemon (radvd, the metadata proxy,
   * keepalived), with radvd's configuration and keepalived's state file (absent in older snapshots).
   */
  radvd?: Record<NsKey, DhcpNamespaceDump>;
  /**
   * The command behind each output above, by namespace and by what it filled: a RawNamespace field
   * ('ip', 'route6', 'fdb', 'iptablesSave', 'ip6tablesSave', 'sysctl'), 'conntrack', 'routes' (an
   * instance's), or 'netns' (in '': the namespace listing that a null namespace is absent from).
   */
  commands?: Record<NsKey, Record<string, CommandLine>>;
}

export interface Snapshot {
  version: 1;
  createdAt: string;
  /** where the resources came from: the API endpoint, a lab name */
  source: { endpoint: string; lab?: string };
  api: ApiResources;
  nodes: Record<string, NodeDump>;
}
