// Extra routes of a router (neutron/db/extraroute_db.py, Zed): the `routes` attribute, its checks
// against the router's ports, the atomic add/remove of extraroute-atomic, and the interface guard.
import { conflict, NeutronError } from '../model/errors.ts';
import { canonicalIpOrNull, cidrContains, formatCidr, parseIp, parsePrefix } from '../model/ip.ts';
import { isHostRoutes } from '../model/validators.ts';
import { invalidAttribute } from '../model/errors.ts';
import type { RouterRow, SubnetRow } from '../store/schema/index.ts';
import { parseJson, type Tx } from './common.ts';
import { routerPorts } from './router-common.ts';

export interface ExtraRoute {
  destination: string;
  nexthop: string;
}

/** [DEFAULT] max_routes (Zed; later releases made it the router_route quota). */
export const MAX_ROUTES = 30;

/** Python's repr of the route list, as Neutron's messages print it. */
const pyRoutes = (routes: ExtraRoute[]) =>
  `[${routes.map((r) => `{'destination': '${r.destination}', 'nexthop': '${r.nexthop}'}`).join(', ')}]`;

const invalidRoutes = (routes: ExtraRoute[], reason: string) =>
  new NeutronError(400, 'InvalidRoutes', `Invalid format for routes: ${pyRoutes(routes)}, ${reason}`);

/**
 * type:hostroutes, then each route in Neutron's stored form (AuthenticIPNetwork / IPAddress text):
 * stored and requested routes then compare as text, as the add/remove merges do.
 */
export function parseRoutes(v: unknown, attr = 'routes'): ExtraRoute[] {
  const list = v === null ? [] : v;
  const reason = isHostRoutes(list);
  if (reason) throw invalidAttribute(attr, reason);
  return (list as ExtraRoute[]).map((r) => ({
    destination: formatCidr(parsePrefix(r.destination)!),
    nexthop: canonicalIpOrNull(r.nexthop)!,
  }));
}

export const routesOf = (router: RouterRow): ExtraRoute[] => parseJson<ExtraRoute[]>(router.routes);

/**
 * _validate_routes: at most max_routes; every next hop on a subnet of one of the router's ports (its
 * interfaces and gateway) and none of the router's own addresses.
 */
export async function validateRoutes(tx: Tx, router: RouterRow, routes: ExtraRoute[]): Promise<void> {
  if (routes.length > MAX_ROUTES) {
    throw new NeutronError(
      400,
      'RoutesExhausted',
      `Unable to complete operation for ${router.id}. The number of routes exceeds the maximum ${MAX_ROUTES}.`,
    );
  }
  const ips = (await routerPorts(tx, router.id)).flatMap((p) => p.fixed_ips);
  const subnetIds = [...new Set(ips.map((f) => f.subnet_id))];
  const subnets = subnetIds.length ? await tx.selectFrom('subnets').select('cidr').where('id', 'in', subnetIds).execute() : [];
  const cidrs = subnets.map((s) => parsePrefix(s.cidr)!);
  const own = new Set(ips.map((f) => canonicalIpOrNull(f.ip_address)));
  for (const r of routes) {
    const hop = parseIp(r.nexthop)!;
    if (!cidrs.some((c) => cidrContains(c, hop))) throw invalidRoutes(routes, 'the nexthop is not connected with router');
    if (own.has(r.nexthop)) throw invalidRoutes(routes, 'the nexthop is used by router');
  }
}

/** _add_extra_routes: the union; an exact duplicate is kept once, several next hops per destination are all kept. */
export function addRoutes(old: ExtraRoute[], add: ExtraRoute[]): ExtraRoute[] {
  const out: ExtraRoute[] = [];
  for (const r of [...old, ...add]) if (!out.some((o) => o.destination === r.destination && o.nexthop === r.nexthop)) out.push(r);
  return out;
}

/** _remove_extra_routes: what is to be removed and missing already is no error. */
export const removeRoutes = (old: ExtraRoute[], remove: ExtraRoute[]): ExtraRoute[] =>
  old.filter((o) => !remove.some((r) => r.destination === o.destination && r.nexthop === o.nexthop));

/** _confirm_router_interface_not_in_use: no extra route's next hop lies on the subnet. */
export function checkSubnetNotUsedByRoutes(router: RouterRow, subnet: SubnetRow): void {
  const cidr = parsePrefix(subnet.cidr)!;
  if (routesOf(router).some((r) => cidrContains(cidr, parseIp(r.nexthop)!))) {
    throw conflict(
      'RouterInterfaceInUseByRoute',
      `Router interface for subnet ${subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more routes.`,
    );
  }
}
