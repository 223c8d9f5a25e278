// planNode(view, node) → the desired kernel state of one node. Pure (see README.md).
import {
  emptyDesiredNamespace,
  HOST,
  type ChainSpec,
  type DesiredNode,
  type IpsetSpec,
  type IptablesSpec,
  type LinkSpec,
  type TableName,
} from '../kernel/types.ts';
import { bridgeName, DHCP_NS_PREFIX } from '../kernel/names.ts';
import type { HostView, PortView } from '../model/hostview.ts';
import { planDhcpNamespace } from './dhcp-ns.ts';
import type { NodeFacts } from './facts.ts';
import { planFirewall, planIpsets, portChains, type FirewallOptions } from './firewall.ts';
import { planFirewall6, portChains6 } from './firewall6.ts';
import type { PortChainMemo } from './port-memo.ts';
import { planStateless } from './stateless.ts';
import { hostIpv6Off } from './host-ipv6.ts';
import { canWireNetwork, mappedBridge, planL2 } from './l2.ts';
import { planRouter } from './l3.ts';
import { withRealizedSegments } from './segment-choice.ts';
import { DEFAULT_ADVERT_INT } from './keepalived.ts';

export type { NodeFacts } from './facts.ts';

export interface NodePlan {
  desired: DesiredNode;
  /** ports that are wired once `desired` is applied: reported ACTIVE */
  plugged: PortView[];
}

/** `more`'s chains appended to `into`'s, table by table. */
function mergeTables(into: IptablesSpec, more: IptablesSpec): IptablesSpec {
  const out: IptablesSpec = { ...into };
  for (const [table, chains] of Object.entries(more) as Array<[TableName, ChainSpec[]]>) out[table] = [...(out[table] ?? []), ...chains];
  return out;
}

/** The DHCP and router ports' host ends of a bridge-mapped network join that bridge instead of brq<net>. */
function joinMappedBridges(links: LinkSpec[], view: HostView, node: NodeFacts): void {
  for (const net of view.networks) {
    const existing = mappedBridge(net, node);
    if (!existing) continue;
    for (const l of links) if (l.master === bridgeName(net.id)) l.master = existing;
  }
}

/** The security group rules and IP sets of a node, both families (IPv6 only on a kernel with it). */
interface FirewallPart {
  iptables: IptablesSpec;
  ip6tables?: IptablesSpec;
  ipsets: IpsetSpec[];
}

function planFirewallPart(
  view: HostView,
  servicePorts: ReadonlySet<string>,
  fw: FirewallOptions,
  ipv6: boolean,
  memo?: PortChainMemo,
): FirewallPart {
  // Without IP sets a port's chains name its remote groups' members, which the memo's key leaves out: no reuse then.
  const reuse = fw.enableIpset ? memo : undefined;
  const part: FirewallPart = {
    iptables: mergeTables(planFirewall(view, servicePorts, fw, reuse?.wrap('4', portChains) ?? portChains), planStateless(view, 'IPv4')),
    ipsets: planIpsets(view, 'IPv4', fw),
  };
  // Neutron's driver writes both families whenever the kernel has IPv6 (use_ipv6).
  if (ipv6) {
    part.ip6tables = mergeTables(
      planFirewall6(view, servicePorts, fw, reuse?.wrap('6', portChains6) ?? portChains6),
      planStateless(view, 'IPv6'),
    );
    part.ipsets.push(...planIpsets(view, 'IPv6', fw));
  }
  return part;
}

/**
 * `memo` (optional) hands back a port's security group chains from an earlier call when nothing
 * they are made of changed: the same result, without re-planning every port of a big node; and
 * the whole firewall part again when planning from a view with the same sections (only the taps
 * present differ: a pass woken by a link event).
 */
export function planNode(given: HostView, node: NodeFacts, memo?: PortChainMemo): NodePlan {
  const view = withRealizedSegments(given, node);
  const host = emptyDesiredNamespace();
  const desired: DesiredNode = { namespaces: { [HOST]: host } };
  const servicePorts = new Set<string>();
  const serviceNetworks = new Set<string>();
  if (node.roles.includes('dhcp')) {
    for (const networkId of view.dhcp_networks) {
      const dhcp = planDhcpNamespace(view, networkId, node.statePath, node.metadata ?? null, node.ipv6 !== false);
      if (!dhcp) continue;
      desired.namespaces[dhcp.namespace] = dhcp.spec;
      host.links.push(dhcp.hostLink);
      servicePorts.add(dhcp.portId);
    }
  }
  if (node.roles.includes('l3')) {
    const canWire = (networkId: string) => {
      const net = view.networks.find((n) => n.id === networkId);
      return !!net && canWireNetwork(net, node);
    };
    for (const router of view.routers ?? []) {
      const r = planRouter(view, router, {
        canWire,
        statePath: node.statePath,
        radvdUser: node.radvdUser ?? null,
        metadata: node.metadata?.enableMetadataProxy ? node.metadata : null,
        ipv6: node.ipv6 !== false,
        haVrrpAdvertInt: node.haVrrpAdvertInt ?? DEFAULT_ADVERT_INT,
        haPrimary: node.haPrimary?.has(router.id) ?? false,
      });
      if (!r) continue;
      desired.namespaces[r.namespace] = r.spec;
      host.links.push(...r.hostLinks);
      for (const id of r.portIds) servicePorts.add(id);
      for (const id of r.networkIds) serviceNetworks.add(id);
    }
  }
  joinMappedBridges(host.links, view, node);
  const l2 = planL2(view, node, servicePorts, serviceNetworks);
  // The service ports' veth ends were added above; bridges and uplinks come first in the list.
  host.links.unshift(...l2.links);
  host.fdb.push(...l2.fdb);
  host.neigh.push(...l2.neigh);
  // A DHCP namespace whose network cannot be wired here would be useless: drop it.
  for (const networkId of view.dhcp_networks) {
    if (!l2.networks.some((n) => n.id === networkId)) {
      delete desired.namespaces[`${DHCP_NS_PREFIX}${networkId}`];
      host.links = host.links.filter((l) => !(l.kind === 'veth' && l.peer.netns === `${DHCP_NS_PREFIX}${networkId}`));
    }
  }
  // ip_lib.disable_ipv6 does nothing on a kernel without IPv6 (the keys do not exist there).
  if (node.ipv6 !== false) host.sysctls.push(...hostIpv6Off(host.links));
  // Security groups: on every L2 node, even before any port is plugged (the skeleton's default drop
  // is what keeps a tap enslaved before its chains exist from passing traffic; see firewall.ts).
  if (node.roles.includes('l2')) {
    const fw = { enableIpset: node.enableIpset !== false };
    const ipv6 = node.ipv6 !== false;
    // The rules depend on the view, the service ports and these settings, not on the taps present.
    const key = `${[...servicePorts].sort().join(',')}|${fw.enableIpset}|${ipv6}`;
    const part = memo
      ? memo.wholeFirewall(given, key, () => planFirewallPart(view, servicePorts, fw, ipv6, memo))
      : planFirewallPart(view, servicePorts, fw, ipv6);
    host.iptables = mergeTables(host.iptables, part.iptables);
    host.ipsets.push(...part.ipsets);
    if (part.ip6tables) host.ip6tables = mergeTables(host.ip6tables ?? {}, part.ip6tables);
  }
  memo?.endPass();
  return { desired, plugged: l2.plugged };
}
