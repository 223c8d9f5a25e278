// The lab's layout, as plain data: one network namespace per node, a management switch and a
// provider switch (one namespace holds both bridges), the provider network's upstream host, and the
// NICs with the scenario's names and addresses. Pure.
import type { AgentRole } from '../model/neutron.ts';

export interface LabNic {
  /** name inside its namespace (eth0, eth1, eth2 as in the scenario) */
  name: string;
  namespace: string;
  address: string | null;
  /** the switch bridge this end is a port of (ends in the switch namespace) */
  bridge?: string;
}

/** A cable: a veth pair with one end in each namespace. */
export interface LabCable {
  a: LabNic;
  b: LabNic;
}

export interface LabNode {
  name: string;
  namespace: string;
  managementNic: string;
  managementIp: string;
  /** the NIC of physical network `provider` (physical_interface_mappings), cabled to the provider switch */
  providerNic: string;
  roles: AgentRole[];
}

export interface LabTopology {
  lab: string;
  nodes: LabNode[];
  /** namespace holding the management switch and the provider switch (two bridges) */
  switchNamespace: string;
  switchBridge: string;
  /**
   * The provider network's switch: every node's provider NIC and the upstream host. A bridge without
   * VLAN filtering, so it carries VLAN networks' tagged frames between the nodes as they are.
   */
  providerBridge: string;
  /** the provider network's upstream host; address6 is its IPv6 address on the provider link */
  external: { namespace: string; nic: string; address: string; gateway: string; address6?: string };
  cables: LabCable[];
}

export const MANAGEMENT_CIDR = '192.168.0.0/24';
export const PROVIDER_CIDR = '10.123.123.0/24';
export const PROVIDER_GATEWAY = '10.123.123.1';
/** The provider link's IPv6 prefix (documentation range) and the upstream host's address on it. */
export const PROVIDER_CIDR6 = '2001:db8:123::/64';
export const PROVIDER_GATEWAY6 = '2001:db8:123::1';
/**
 * A client beyond the upstream router (TEST-NET-2, on the external host's lo): traffic from it to a
 * floating IP comes back through the router's default route, as from anywhere on the internet,
 * where traffic from 10.123.123.1 would come back over the connected provider subnet.
 */
export const UPSTREAM_CLIENT = '198.51.100.1';
/** The lab server's [ml2_type_vlan] network_vlan_ranges: physical network `provider`, tenant VLANs 100–199. */
export const LAB_VLAN_RANGES = 'provider:100:199';

export class LabError extends Error {}
/** A LabError that is the caller's or the machine's, not the operation's (bad name, lab not up, not root): exit status 2. */
export class LabUsageError extends LabError {}

const LAB_NAME = /^[a-z][a-z0-9]{0,9}$/;
const NODE_NAME = /^[a-z][a-z0-9]{0,14}$/;

/** Throws LabError unless `lab` is a valid lab name (it prefixes every namespace the lab makes). */
export function checkLabName(lab: string): void {
  if (!LAB_NAME.test(lab)) throw new LabUsageError(`invalid lab name '${lab}': 1-10 lowercase letters and digits, starting with a letter`);
}

export function labNamespace(lab: string, name: string): string {
  return `${lab}-${name}`;
}

/** Network nodes besides the controller (`lab up --network-nodes`): network2, network3, … */
export const networkNodeName = (n: number): string => `network${n}`;
export const MAX_NETWORK_NODES = 9;
const NETWORK_NODE = /^network[2-9]$/;

/**
 * Whether a node is a network node besides the controller. Its agent makes the same qrouter-
 * namespaces as the controller's (an HA router lives on both), so it gets a /run/netns of its own.
 */
export const isExtraNetworkNode = (name: string): boolean => NETWORK_NODE.test(name);

/**
 * The first node is the controller (management on eth1, provider NIC eth2, DHCP and L3 roles), the
 * others are computes (management on eth0, provider NIC eth1), as in the scenario: 192.168.0.104, .105, …;
 * a node named network2…network9 is laid out like a compute, with the controller's DHCP and L3 roles.
 */
export function labTopology(lab: string, nodeNames: string[]): LabTopology {
  checkLabName(lab);
  if (!nodeNames.length) throw new LabUsageError('a lab needs at least one node');
  if (nodeNames.length > 100) throw new LabUsageError('at most 100 nodes');
  const seen = new Set<string>();
  for (const n of nodeNames) {
    if (!NODE_NAME.test(n) || n === 'external' || n === 'mgmt') throw new LabUsageError(`invalid node name '${n}'`);
    if (seen.has(n)) throw new LabUsageError(`node '${n}' given twice`);
    seen.add(n);
  }
  const switchNamespace = labNamespace(lab, 'mgmt');
  const nodes: LabNode[] = nodeNames.map((name, i) => ({
    name,
    namespace: labNamespace(lab, name),
    managementNic: i === 0 ? 'eth1' : 'eth0',
    managementIp: `192.168.0.${104 + i}`,
    providerNic: i === 0 ? 'eth2' : 'eth1',
    roles: i === 0 || isExtraNetworkNode(name) ? ['l2', 'dhcp', 'l3'] : ['l2'],
  }));
  const external = {
    namespace: labNamespace(lab, 'external'),
    nic: 'eth0',
    address: `${PROVIDER_GATEWAY}/24`,
    gateway: PROVIDER_GATEWAY,
    address6: `${PROVIDER_GATEWAY6}/64`,
  };
  const switchBridge = 'br-mgmt';
  const providerBridge = 'br-provider';
  const cables: LabCable[] = nodes.map((n, i) => ({
    a: { name: n.managementNic, namespace: n.namespace, address: `${n.managementIp}/24` },
    b: { name: `p${i}`, namespace: switchNamespace, address: null, bridge: switchBridge },
  }));
  for (const [i, n] of nodes.entries()) {
    cables.push({
      a: { name: n.providerNic, namespace: n.namespace, address: null },
      b: { name: `v${i}`, namespace: switchNamespace, address: null, bridge: providerBridge },
    });
  }
  cables.push({
    a: { name: external.nic, namespace: external.namespace, address: external.address },
    b: { name: 'vext', namespace: switchNamespace, address: null, bridge: providerBridge },
  });
  return { lab, nodes, switchNamespace, switchBridge, providerBridge, external, cables };
}

/** Every namespace the lab itself makes (node, switch and external namespaces). */
export function labNamespaces(t: LabTopology): string[] {
  return [...t.nodes.map((n) => n.namespace), t.switchNamespace, t.external.namespace];
}
