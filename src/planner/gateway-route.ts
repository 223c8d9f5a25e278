// The default route via a subnet's gateway, as Neutron's agents add it (router_info._add_route_to_gw,
// dhcp._set_default_route_ip_version): a gateway outside its subnet is reached on-link first. Pure.
import type { RouteSpec } from '../kernel/types.ts';
import { cidrContains, parseIp, parsePrefix } from '../model/ip.ts';

/** Nothing when the gateway or the subnet does not parse, or their families differ. */
export function defaultRouteVia(cidr: string, gateway: string, dev: string): RouteSpec[] {
  const net = parsePrefix(cidr);
  const gw = parseIp(gateway);
  if (!net || !gw || net.version !== gw.version) return [];
  const routes: RouteSpec[] = [];
  // IPv6 has no route scopes: its on-link route is one with a device and no gateway.
  if (!cidrContains(net, gw)) routes.push(gw.version === 4 ? { dst: `${gateway}/32`, dev, scope: 'link' } : { dst: `${gateway}/128`, dev });
  routes.push({ dst: 'default', via: gateway, dev });
  return routes;
}
