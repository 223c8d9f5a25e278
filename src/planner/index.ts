// planNode(view, node) → the desired kernel state of one node. Pure (see README.md).
import { emptyDesiredNamespace, HOST, type DesiredNode } from '../kernel/types.js';
import { DHCP_NS_PREFIX } from '../kernel/names.js';
import type { HostView, PortView } from '../model/hostview.js';
import { planDhcpNamespace } from './dhcp-ns.js';
import type { NodeFacts } from './facts.js';
import { planFirewall, planIpsets } from './firewall.js';
import { hostIpv6Off } from './host-ipv6.js';
import { planL2, uplink } from './l2.js';
import { planRouter } from './l3.js';

export type { NodeFacts } from './facts.js';

export interface NodePlan {
  desired: DesiredNode;
  /** ports that are wired once `desired` is applied: reported ACTIVE */
  plugged: PortView[];
}

export function planNode(view: HostView, node: NodeFacts): NodePlan {
  const host = emptyDesiredNamespace();
  const desired: DesiredNode = { namespaces: { [HOST]: host } };
  const servicePorts = new Set<string>();
  if (node.roles.includes('dhcp')) {
    for (const networkId of view.dhcp_networks) {
      const dhcp = planDhcpNamespace(view, networkId, node.statePath);
      if (!dhcp) continue;
      desired.namespaces[dhcp.namespace] = dhcp.spec;
      host.links.push(dhcp.hostLink);
      servicePorts.add(dhcp.portId);
    }
  }
  if (node.roles.includes('l3')) {
    const canWire = (networkId: string) => {
      const net = view.networks.find((n) => n.id === networkId);
      return !!net && uplink(net, node) !== null;
    };
    for (const router of view.routers ?? []) {
      const r = planRouter(view, router, { canWire, statePath: node.statePath, radvdUser: node.radvdUser ?? null });
      if (!r) continue;
      desired.namespaces[r.namespace] = r.spec;
      host.links.push(...r.hostLinks);
      for (const id of r.portIds) servicePorts.add(id);
    }
  }
  const l2 = planL2(view, node, servicePorts);
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
  host.sysctls.push(...hostIpv6Off(host.links));
  // Security groups: on every L2 node, even before any port is plugged (the skeleton's default drop
  // is what keeps a tap enslaved before its chains exist from passing traffic; see firewall.ts).
  if (node.roles.includes('l2')) {
    const fw = planFirewall(view, servicePorts);
    for (const [table, chains] of Object.entries(fw) as Array<[keyof typeof fw, NonNullable<(typeof fw)['filter']>]>) {
      host.iptables[table] = [...(host.iptables[table] ?? []), ...chains];
    }
    host.ipsets.push(...planIpsets(view));
  }
  return { desired, plugged: l2.plugged };
}
