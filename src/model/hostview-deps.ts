// What one host view was built from: the ids of every row that went into it, the networks, routers
// and groups whose rows it reads by reference, and, for the rows it holds only in part (other hosts'
// ports as l2population entries, members of remote groups as addresses), the part it holds. A change
// whose row is none of these, neither before (the view names it) nor now (see change-scope.ts), leaves
// the view as it was. Pure.
import type { HostView, PortView, RemotePortView } from './hostview.ts';
import { portIdsInView } from './hostview-delta.ts';

/** What the build saw besides the view itself (hostview.ts fills it in). */
export interface HostViewNotes {
  /** this host's VXLAN endpoint ('' when it has none) */
  vtep: string;
  /** every host with a port bound on one of the view's VXLAN networks, with its endpoint ('' when none) */
  boundHosts: ReadonlyMap<string, string>;
  /**
   * each port bound on one of the view's VXLAN networks to a host with an endpoint, with the entry
   * it makes (remoteEntry) where its host is not this one and its endpoint not this host's
   */
  remotePorts: ReadonlyMap<string, RemoteHeld>;
  /** each port whose addresses went into a remote group's members, with what it gave (memberEntry) */
  members: ReadonlyMap<string, string>;
  /** subnets read for the routers' address scopes */
  scopeSubnets: Set<string>;
}

export interface RemoteHeld {
  host: string;
  vtep: string;
  entry: string;
}

/** The remote port entry the view holds for the port ('' for none). */
export function heldRemoteEntry(deps: Pick<HostViewDeps, 'host' | 'vtep' | 'remotePorts'>, portId: string): string {
  const e = deps.remotePorts.get(portId);
  return e && e.host !== deps.host && e.vtep !== deps.vtep ? e.entry : '';
}

export const emptyNotes = (): HostViewNotes => ({
  vtep: '',
  boundHosts: new Map(),
  remotePorts: new Map(),
  members: new Map(),
  scopeSubnets: new Set(),
});

export interface HostViewDeps extends HostViewNotes {
  host: string;
  /** ports the view shows whole: local, DHCP, router and HA ports */
  portsShown: Set<string>;
  networks: Set<string>;
  dhcpNetworks: Set<string>;
  vxlanNetworks: Set<string>;
  /** the networks of the routers' ports (their subnets give the address scopes) */
  routerNetworks: Set<string>;
  subnets: Set<string>;
  routers: Set<string>;
  floatingips: Set<string>;
  /** every security group the view holds, the remote ones included */
  groups: Set<string>;
  remoteGroups: Set<string>;
  rules: Set<string>;
  addressGroups: Set<string>;
}

/** The l2population entry of a port bound to another host whose VXLAN endpoint is `vtep`. */
export const remotePortOf = (p: PortView, vtep: string): RemotePortView => ({
  network_id: p.network_id,
  host: p.binding_host_id,
  vtep,
  mac_address: p.mac_address,
  ip_addresses: p.fixed_ips.map((f) => f.ip_address),
});

/** A remote port entry as one string, to compare the entry a view holds with the one a port makes now. */
export const remoteEntry = (r: RemotePortView): string =>
  `${r.network_id}|${r.host}|${r.vtep}|${r.mac_address}|${r.ip_addresses.join(',')}`;

/** What a port gives to the members of the view's remote groups: its groups among them and its addresses ('' for nothing). */
export function memberEntry(groups: Iterable<string>, ips: Iterable<string>, remoteGroups: Set<string>): string {
  const mine = [...new Set(groups)].filter((g) => remoteGroups.has(g)).sort();
  const addresses = [...new Set(ips)].sort();
  return mine.length && addresses.length ? `${mine.join(',')}|${addresses.join(',')}` : '';
}

const isVxlan = (n: HostView['networks'][number]) =>
  n.network_type === 'vxlan' || (n.segments ?? []).some((s) => s.network_type === 'vxlan');

export function hostViewDeps(view: HostView, notes: HostViewNotes): HostViewDeps {
  const routerPorts = view.routers.flatMap((r) => [...(r.gateway ? [r.gateway] : []), ...r.interfaces]);
  const groups = view.security_groups;
  return {
    ...notes,
    host: view.host,
    portsShown: portIdsInView(view),
    networks: new Set(view.networks.map((n) => n.id)),
    dhcpNetworks: new Set(view.dhcp_networks),
    vxlanNetworks: new Set(view.networks.filter(isVxlan).map((n) => n.id)),
    routerNetworks: new Set([
      ...routerPorts.map((rp) => rp.port.network_id),
      ...view.routers.flatMap((r) => (r.ha ? [r.ha.port.network_id] : [])),
    ]),
    subnets: new Set([
      ...view.subnets.map((s) => s.id),
      ...routerPorts.flatMap((rp) => rp.subnets.map((s) => s.id)),
      ...notes.scopeSubnets,
    ]),
    routers: new Set(view.routers.map((r) => r.id)),
    floatingips: new Set(
      view.routers.flatMap((r) => [...r.floating_ips.map((f) => f.id), ...(r.port_forwardings ?? []).map((f) => f.floatingip_id)]),
    ),
    groups: new Set(groups.map((g) => g.id)),
    remoteGroups: new Set(groups.flatMap((g) => g.rules.map((r) => r.remote_group_id)).filter((x): x is string => !!x)),
    rules: new Set(groups.flatMap((g) => g.rules.map((r) => r.id))),
    addressGroups: new Set((view.address_groups ?? []).map((a) => a.id)),
  };
}
