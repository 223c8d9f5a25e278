// Reading Networking API objects (standard Neutron attributes only) into the HostView's shapes
// (ports: model/port-view.ts, shared with the server). Attributes a cloud may leave out (extensions
// it does not load) take Neutron's defaults, so the same code reads neutrino and a real Neutron. Pure.
import type { NetworkView, SecurityGroupRuleView, SegmentView, SubnetView } from '../../model/hostview.ts';
import { attr as text, attrFlag as flag, attrList as list, cmpText } from '../../model/port-view.ts';
import type { ApiObject } from '../snapshot.ts';

const textOrNull = (o: ApiObject, key: string): string | null => (typeof o[key] === 'string' ? (o[key] as string) : null);
const intOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

/** One segment's provider:* attributes (a network's own, or one of its `segments`). */
const segmentView = (src: Record<string, unknown>): SegmentView => ({
  network_type: typeof src['provider:network_type'] === 'string' ? (src['provider:network_type'] as string) : '',
  physical_network: typeof src['provider:physical_network'] === 'string' ? (src['provider:physical_network'] as string) : null,
  segmentation_id: intOrNull(src['provider:segmentation_id']),
});

/** The network's segment: provider:* attributes, or the first of `segments` (multi-provider extension) — then all of them too. */
export function networkView(n: ApiObject): NetworkView {
  const segs = list<Record<string, unknown>>(n, 'segments');
  const several = n['provider:network_type'] === undefined && segs.length ? segs.map(segmentView) : null;
  return {
    id: n.id,
    name: text(n, 'name'),
    ...(several ? several[0]! : segmentView(n)),
    ...(several && several.length > 1 ? { segments: several } : {}),
    mtu: typeof n['mtu'] === 'number' ? (n['mtu'] as number) : 1500,
    admin_state_up: flag(n, 'admin_state_up', true),
    router_external: flag(n, 'router:external', false),
  };
}

export function subnetView(s: ApiObject): SubnetView {
  return {
    id: s.id,
    network_id: text(s, 'network_id'),
    ip_version: typeof s['ip_version'] === 'number' ? (s['ip_version'] as number) : 4,
    cidr: text(s, 'cidr'),
    gateway_ip: textOrNull(s, 'gateway_ip'),
    ipv6_ra_mode: textOrNull(s, 'ipv6_ra_mode'),
    ipv6_address_mode: textOrNull(s, 'ipv6_address_mode'),
    enable_dhcp: flag(s, 'enable_dhcp', true),
    dns_nameservers: list<string>(s, 'dns_nameservers'),
    host_routes: list<{ destination: string; nexthop: string }>(s, 'host_routes').map((r) => ({
      destination: r.destination,
      nexthop: r.nexthop,
    })),
    allocation_pools: list<{ start: string; end: string }>(s, 'allocation_pools').map((p) => ({ start: p.start, end: p.end })),
  };
}

export function ruleView(r: ApiObject): SecurityGroupRuleView {
  return {
    id: r.id,
    direction: text(r, 'direction') as SecurityGroupRuleView['direction'],
    ethertype: text(r, 'ethertype', 'IPv4') as SecurityGroupRuleView['ethertype'],
    protocol: textOrNull(r, 'protocol'),
    port_range_min: intOrNull(r['port_range_min']),
    port_range_max: intOrNull(r['port_range_max']),
    remote_ip_prefix: textOrNull(r, 'remote_ip_prefix'),
    remote_group_id: textOrNull(r, 'remote_group_id'),
    remote_address_group_id: textOrNull(r, 'remote_address_group_id'),
  };
}

export const rulesOf = (group: ApiObject): ApiObject[] => list<ApiObject>(group, 'security_group_rules');

/**
 * Stable sort by text keys (byte order). The server's host-view reads each have a total order
 * (ties broken by id); sorting by the same keys here gives the order the agent planned in.
 */
export function sortByKeys<T>(items: T[], ...keys: Array<(item: T) => string>): T[] {
  return [...items].sort((a, b) => {
    for (const key of keys) {
      const c = cmpText(key(a), key(b));
      if (c) return c;
    }
    return 0;
  });
}

/** Reads an attribute as text, for sortByKeys. */
export const key =
  (name: string) =>
  (o: ApiObject): string =>
    text(o, name);
