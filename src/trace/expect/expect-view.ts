// hostViewFromApi: the HostView the server would send one node's agent (src/networking/hostview.ts),
// built from Networking API objects instead of the database, so the tracer plans each node with
// the agent's own planner on any Neutron cloud.
//
// Same selection and the same order as the server, so the planner's output (the order of rules in
// a chain, a dnsmasq file) comes out identical. Every read of the server's has a total order (its
// sort keys, then id), on any engine; each list below sorts by the same keys. Pure.
import type {
  AddressGroupView,
  AddressScopesView,
  HostView,
  PortForwardingView,
  RemotePortView,
  RouterSubnetView,
  RouterView,
  SecurityGroupView,
} from '../../model/hostview.ts';
import { AGENT_L2, ROUTER_HA_INTF_OWNER, ROUTER_OWNED } from '../../model/neutron.ts';
import { haRouterNetworks, NO_ADDRESS_SCOPES, routerPorts } from '../../model/router-view.ts';
import { attr, attrFlag, attrList, cmpText, fixedIpsOf, hostOf, portView } from '../../model/port-view.ts';
import { key, networkView, ruleView, rulesOf, sortByKeys, subnetView } from './expect-api.ts';
import type { ApiObject, ApiResources } from '../snapshot.ts';
import { floatingIpForwardings } from './forwardings.ts';

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];
const config = (agent: ApiObject): Record<string, unknown> =>
  agent['configurations'] && typeof agent['configurations'] === 'object' ? (agent['configurations'] as Record<string, unknown>) : {};
const byId = (o: { id: string }) => o.id;

/** Each host's VXLAN endpoint: its L2 agent's reported `tunneling_ip`. */
export function vtepsFromAgents(api: ApiResources): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of api.agents) {
    if (a['agent_type'] !== AGENT_L2) continue;
    const ip = config(a)['tunneling_ip'];
    if (typeof ip === 'string' && ip) out.set(attr(a, 'host'), ip);
  }
  return out;
}

/** Networks whose DHCP `host` serves (dhcp_hosts), by id like the server. */
export function dhcpNetworksOf(api: ApiResources, host: string): string[] {
  return api.networks
    .filter((n) => (api.dhcp_hosts[n.id] ?? []).includes(host))
    .map(byId)
    .sort(cmpText);
}

/** Routers scheduled to `host`'s L3 agent (router_hosts), by id like the server. */
export const routersOf = (api: ApiResources, host: string): ApiObject[] =>
  sortByKeys(
    api.routers.filter((r) => (api.router_hosts[r.id] ?? []).includes(host)),
    byId,
  );

function securityGroups(api: ApiResources, ids: string[]): SecurityGroupView[] {
  if (!ids.length) return [];
  const groups = new Map(api.security_groups.map((g) => [g.id, g]));
  // One read of all their rules: by group (index), then ordered by creation.
  const rules = sortByKeys(
    ids.flatMap((id) => rulesOf(groups.get(id) ?? { id }).map((r) => ({ rule: r, group: id }))),
    (r) => attr(r.rule, 'created_at'),
    (r) => r.rule.id,
  );
  const remoteIds = unique(rules.map((r) => r.rule['remote_group_id']).filter((x): x is string => typeof x === 'string' && !!x));
  const membersOf = (groupId: string): string[] =>
    remoteIds.includes(groupId)
      ? unique(
          api.ports
            .filter((p) => (p['security_groups'] as unknown[] | undefined)?.includes(groupId))
            .flatMap((p) => fixedIpsOf(p).map((f) => f.ip_address)),
        ).sort(cmpText)
      : [];
  // Groups referenced only as remote groups are included too, for their member addresses alone
  // (the server reads no name, flags or rules for them).
  return unique([...ids, ...remoteIds]).map((id): SecurityGroupView => {
    const g = ids.includes(id) ? groups.get(id) : undefined;
    return {
      id,
      name: g ? attr(g, 'name') : '',
      stateful: g ? attrFlag(g, 'stateful', true) : true,
      rules: rules.filter((r) => r.group === id).map((r) => ruleView(r.rule)),
      member_ips: membersOf(id),
    };
  });
}

/** The address groups the groups' rules name as their remote, by id, with their addresses (byte order, as the server). */
function addressGroups(api: ApiResources, groups: SecurityGroupView[]): AddressGroupView[] {
  const ids = unique(groups.flatMap((g) => g.rules.map((r) => r.remote_address_group_id)).filter((x): x is string => !!x)).sort(cmpText);
  return ids.map((id) => {
    const g = (api.address_groups ?? []).find((x) => x.id === id);
    return { id, addresses: (g ? attrList<string>(g, 'addresses') : []).slice().sort(cmpText) };
  });
}

/** A network's address scopes as the API shows them (ipv4_address_scope, ipv6_address_scope). */
function scopesOf(api: ApiResources, networkId: string): AddressScopesView {
  const n = api.networks.find((x) => x.id === networkId);
  const scope = (key: string) => (n && typeof n[key] === 'string' ? (n[key] as string) : null);
  return n ? { '4': scope('ipv4_address_scope'), '6': scope('ipv6_address_scope') } : { ...NO_ADDRESS_SCOPES };
}

function routers(api: ApiResources, host: string): RouterView[] {
  const rows = routersOf(api, host);
  if (!rows.length) return [];
  const ids = new Set(rows.map(byId));
  // Their ports: by router (index), then ordered by creation.
  const owned = api.ports.filter((p) => ids.has(attr(p, 'device_id')) && ROUTER_OWNED.includes(attr(p, 'device_owner')));
  const ports = sortByKeys(owned, key('created_at'), byId).map(portView);
  const subnets = new Map(
    api.subnets.map((s): [string, RouterSubnetView] => {
      const v = subnetView(s);
      const { id, ip_version, cidr, gateway_ip, ipv6_ra_mode, ipv6_address_mode, dns_nameservers } = v;
      return [s.id, { id, ip_version, cidr, gateway_ip, ipv6_ra_mode, ipv6_address_mode, dns_nameservers }];
    }),
  );
  const fips = sortByKeys(
    api.floatingips.filter(
      (f) => ids.has(attr(f, 'router_id')) && typeof f['port_id'] === 'string' && typeof f['fixed_ip_address'] === 'string',
    ),
    key('floating_ip_address'),
    byId,
  );
  return rows.map((r): RouterView => {
    // The API shows no gw_port_id: the gateway port is the port the router owns as its gateway.
    // The API shows no gw_port_id: the gateway port is the port the router owns as its gateway.
    const { gateway, interfaces } = routerPorts(
      r.id,
      ports,
      () => true,
      (id) => subnets.get(id),
      (networkId) => scopesOf(api, networkId),
    );
    const info = r['external_gateway_info'] as { enable_snat?: boolean } | null | undefined;
    return {
      id: r.id,
      name: attr(r, 'name'),
      admin_state_up: attrFlag(r, 'admin_state_up', true),
      enable_snat: info?.enable_snat ?? true,
      gateway,
      interfaces,
      floating_ips: fips
        .filter((f) => f['router_id'] === r.id)
        .map((f) => ({
          id: f.id,
          floating_ip_address: attr(f, 'floating_ip_address'),
          fixed_ip_address: attr(f, 'fixed_ip_address'),
          port_id: attr(f, 'port_id'),
        })),
      port_forwardings: forwardingsOf(
        api,
        api.floatingips.filter((f) => f['router_id'] === r.id),
      ),
      routes: attrList<{ destination: string; nexthop: string }>(r, 'routes').map((x) => ({
        destination: x.destination,
        nexthop: x.nexthop,
      })),
      ...haView(api, r, host),
    };
  });
}

/**
 * An HA router's `ha` entry on `host`, when its `ha-` port there is visible (admin). The API shows
 * no VRRP id (ha_vr_id): 0 stands for it, which only keepalived's configuration would show, and
 * the tracer compares none.
 */
function haView(api: ApiResources, r: ApiObject, host: string): Pick<RouterView, 'ha'> {
  if (r['ha'] !== true) return {};
  const port = api.ports.find((p) => p['device_id'] === r.id && p['device_owner'] === ROUTER_HA_INTF_OWNER && hostOf(p) === host);
  const subnet = port && api.subnets.find((s) => s.id === fixedIpsOf(port)[0]?.subnet_id);
  if (!port || !subnet) return {};
  const vrId = typeof r['ha_vr_id'] === 'number' ? r['ha_vr_id'] : 0;
  return { ha: { vr_id: vrId, port: portView(port), cidr: attr(subnet, 'cidr'), state: api.router_ha_states?.[r.id]?.[host] ?? null } };
}

/** A router's port forwardings from its floating IPs (forwardings.ts), as the host view orders them. */
function forwardingsOf(api: ApiResources, fips: ApiObject[]): PortForwardingView[] {
  const out = fips.flatMap((f) => floatingIpForwardings(api, f).map(({ internal_port_id: _port, ...pf }): PortForwardingView => pf));
  return out.sort((a, b) => cmpText(a.floating_ip_address, b.floating_ip_address) || cmpText(a.id, b.id));
}

/** The HostView of `host` from API objects: what its agent plans from (see the file comment). */
export function hostViewFromApi(api: ApiResources, host: string, revision = 0): HostView {
  // Bound here, by id.
  const local = sortByKeys(
    api.ports.filter((p) => hostOf(p) === host),
    byId,
  );
  const dhcpNetworks = dhcpNetworksOf(api, host);
  const hostRouters = routers(api, host);
  const networkIds = new Set([...local.map(key('network_id')), ...dhcpNetworks, ...haRouterNetworks(hostRouters)]);
  // Networks by id (primary key); subnets by network (index), then ordered by creation.
  const networks = sortByKeys(
    api.networks.filter((n) => networkIds.has(n.id)),
    byId,
  ).map(networkView);
  const subnets = sortByKeys(
    api.subnets.filter((s) => networkIds.has(attr(s, 'network_id'))),
    key('created_at'),
    byId,
  ).map(subnetView);

  // l2population: the other hosts' ports on this host's VXLAN networks (by network, index), each behind its host's VTEP.
  const vxlanIds = new Set(networks.filter((n) => (n.segments ?? [n]).some((g) => g.network_type === 'vxlan')).map(byId));
  const endpoints = vtepsFromAgents(api);
  const localVtep = endpoints.get(host);
  const remote = api.ports.filter(
    (p) => vxlanIds.has(attr(p, 'network_id')) && hostOf(p) !== host && hostOf(p) !== '' && endpoints.has(hostOf(p)),
  );
  const remotePorts: RemotePortView[] = sortByKeys(remote, key('network_id'), byId)
    .filter((p) => endpoints.get(hostOf(p)) !== localVtep)
    .map((p) => ({
      network_id: attr(p, 'network_id'),
      host: hostOf(p),
      vtep: endpoints.get(hostOf(p))!,
      mac_address: attr(p, 'mac_address'),
      ip_addresses: fixedIpsOf(p).map((f) => f.ip_address),
    }));
  const vtepKeys = new Map(remotePorts.map((p) => [`${p.network_id}|${p.host}`, { network_id: p.network_id, host: p.host, vtep: p.vtep }]));

  const ports = local.map(portView);
  const dhcpIds = new Set(dhcpNetworks);
  const groups = securityGroups(api, unique(ports.flatMap((p) => p.security_groups)));
  const remoteAddressGroups = addressGroups(api, groups);
  return {
    host,
    revision,
    networks,
    subnets,
    ports,
    remote_ports: remotePorts,
    remote_vteps: [...vtepKeys.values()],
    security_groups: groups,
    ...(remoteAddressGroups.length ? { address_groups: remoteAddressGroups } : {}),
    dhcp_networks: dhcpNetworks,
    // Every port on those networks (static leases): by network (index).
    dhcp_ports: sortByKeys(
      api.ports.filter((p) => dhcpIds.has(attr(p, 'network_id'))),
      key('network_id'),
      byId,
    ).map(portView),
    routers: hostRouters,
  };
}
