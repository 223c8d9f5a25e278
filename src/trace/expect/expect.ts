// What the tracer expects on each node: the agent's own planner (src/planner) fed with the node's
// HostView rebuilt from the Networking API (expect-view.ts) and the node's facts read from its dump
// (expect-facts.ts). Also what to read on a node before there is a dump (namespacesToRead). Pure.
import { DEFAULT_METADATA_CONFIG } from '../../agent/config.ts';
import { metadataFacts } from '../../agent/metadata-facts.ts';
import { haproxyProcessId } from '../../planner/metadata.ts';
import { dhcpNamespace, routerNamespace, tapName } from '../../kernel/names.ts';
import { scopeFor } from '../../kernel/scope.ts';
import { HOST, type DesiredNode, type NsKey, type ObservedNamespace } from '../../kernel/types.ts';
import type { HostView, PortView } from '../../model/hostview.ts';
import { planNode, type NodeFacts } from '../../planner/index.ts';
import type { PortChainMemo } from '../../planner/port-memo.ts';
import { isServicePort } from '../../planner/l2.ts';
import { radvdProcessId } from '../../planner/radvd.ts';
import { keepalivedProcessId } from '../../planner/keepalived.ts';
import { nodeFactsFromDump, type FactSources } from './expect-facts.ts';
import { hostViewFromApi } from './expect-view.ts';
import type { ApiResources, NodeDump } from '../snapshot.ts';

export { hostViewFromApi } from './expect-view.ts';
export { nodeFactsFromDump, rolesFromAgents, type FactSource, type FactSources, type NodeFactsResult } from './expect-facts.ts';

export interface ExpectedNode {
  view: HostView;
  facts: NodeFacts;
  /** the planner's desired kernel state of the node, owned by its host like the agent's */
  desired: DesiredNode;
  /** ports the plan wires: the agent reports them ACTIVE once applied */
  plugged: PortView[];
  /** where each configured value came from (local_ip, physical_interface_mappings, …) */
  sources: FactSources;
  /** the same record under the name TraceNode uses */
  settings: FactSources;
  /** what could not be used to compute the facts, in words */
  problems: string[];
}

export interface ExpectOptions {
  revision?: number;
  /**
   * Expect the tap of every port bound to the host, present or not (the tracer: a missing tap is a
   * finding, not a reason to expect less). The agent plans only the taps it sees.
   */
  allBoundTaps?: boolean;
  /** the node's own namespace, when the caller has parsed the dump already */
  parsedHost?: ObservedNamespace;
  /** ports' security group chains from an earlier expectation of the same node (the picture re-reads it every second) */
  memo?: PortChainMemo;
}

/** The kernel objects `dump.host` should hold, computed exactly as its agent computes them. */
export function expectedNode(api: ApiResources, dump: NodeDump, o: ExpectOptions = {}): ExpectedNode {
  const view = hostViewFromApi(api, dump.host, o.revision ?? 0);
  const { facts, sources, problems } = nodeFactsFromDump(dump.host, dump, api, o.parsedHost);
  if (o.allBoundTaps) facts.presentTaps = new Set([...facts.presentTaps, ...view.ports.map((p) => tapName(p.id))]);
  const plan = planNode(view, facts, o.memo);
  o.memo?.endPass();
  // As the agent does (reconcile.ts): the owner mark keeps nodes sharing /run/netns apart.
  plan.desired.owner = dump.host;
  return { view, facts, desired: plan.desired, plugged: plan.plugged, sources, settings: sources, problems };
}

/** What to read on a node (matches CollectRequest's fields). */
export interface NamespacesToRead {
  /** '' (the node's own), then qrouter-<router> for routers hosted there, then qdhcp-<network> for its DHCP networks */
  namespaces: NsKey[];
  /** sysctl keys the plan sets, per namespace */
  sysctls: Record<NsKey, string[]>;
  /** router namespaces: where NAT leaves conntrack entries */
  conntrack: NsKey[];
  /** router namespaces where the plan runs radvd, the metadata proxy or keepalived; absent when none */
  radvd?: NsKey[];
}

/** Placeholder NIC for planning without a dump: only the plan's shape (namespaces, sysctl keys) is used. */
const ANY_NIC = 'any0';

/**
 * What to read on `host` before collecting, from the API alone. The sysctl keys come from the
 * planner run with every role and every uplink present, so whatever a namespace could be planned
 * with is read, and a key the planner starts setting is read without changing this. Instance
 * ports and security groups shape no namespace: they are left out, which keeps this cheap on a
 * node with many ports.
 */
export function namespacesToRead(api: ApiResources, host: string): NamespacesToRead {
  const full = hostViewFromApi(api, host);
  const view: HostView = { ...full, ports: full.ports.filter(isServicePort), remote_ports: [], remote_vteps: [], security_groups: [] };
  const routers = view.routers.map((r) => routerNamespace(r.id));
  const namespaces = [HOST, ...routers, ...view.dhcp_networks.map(dhcpNamespace)];
  const physnets = view.networks.map((n) => n.physical_network).filter((p): p is string => !!p);
  const anyNode: NodeFacts = {
    host,
    roles: ['l2', 'dhcp', 'l3'],
    localIp: '0.0.0.0',
    localIpDevice: ANY_NIC,
    physicalInterfaceMappings: Object.fromEntries(physnets.map((p) => [p, ANY_NIC])),
    statePath: '/',
    metadata: metadataFacts({ metadata: DEFAULT_METADATA_CONFIG, statePath: '/' }, { user: 'root', group: 'root' }),
    presentTaps: new Set(),
  };
  const plan = planNode(view, anyNode).desired;
  const planned = scopeFor(plan).sysctls;
  const sysctls: Record<NsKey, string[]> = {};
  for (const ns of namespaces) if (planned[ns]?.length) sysctls[ns] = planned[ns]!;
  // Router namespaces whose daemons a trace checks: radvd, the metadata proxy (on by default), keepalived.
  const daemons = (id: string) => [radvdProcessId(id), haproxyProcessId(id), keepalivedProcessId(id)];
  const radvd = view.routers
    .filter((r) => plan.namespaces[routerNamespace(r.id)]?.processes.some((p) => daemons(r.id).includes(p.id)))
    .map((r) => routerNamespace(r.id));
  return { namespaces, sysctls, conntrack: routers, ...(radvd.length ? { radvd } : {}) };
}
