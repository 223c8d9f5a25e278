// A router's extra routes in its namespace (RouterInfo.routes_updated): `ip route replace <destination>
// via <nexthop>` in the main table through the router device whose subnet holds the next hop, or one
// multipath route for a destination with several next hops. Pure.
import type { NexthopSpec, RouteSpec } from '../kernel/types.ts';
import { cidrContains, formatCidr, formatIp, parseIp, parsePrefix, type Ip } from '../model/ip.ts';
import type { RouterView } from '../model/hostview.ts';

/** A device of the router namespace and the prefixes on it. */
export interface RouterDevice {
  dev: string;
  cidrs: string[];
}

const holds = (cidr: string, ip: Ip): boolean => {
  const p = parsePrefix(cidr);
  return p !== null && cidrContains(p, ip);
};

/**
 * The routes of `routes` whose next hop is on one of `devices` (the server accepted it on a subnet of
 * the router's ports; a port not plugged here has no device yet, and its routes wait for it), one
 * per destination in the router's order: several next hops for one destination make one multipath
 * (ECMP) route, as _update_routing_table_ecmp makes it. A zero-length destination is the family's
 * default route.
 */
export function extraRoutes(routes: RouterView['routes'], devices: readonly RouterDevice[]): RouteSpec[] {
  const byDst = new Map<string, { dst: string; family: 4 | 6; paths: NexthopSpec[] }>();
  for (const r of routes) {
    const dst = parsePrefix(r.destination);
    const hop = parseIp(r.nexthop);
    if (!dst || !hop || dst.version !== hop.version) continue;
    const dev = devices.find((d) => d.cidrs.some((c) => holds(c, hop)))?.dev;
    if (!dev) continue;
    const dstText = dst.prefixLength === 0 ? 'default' : formatCidr(dst);
    const key = `${dst.version} ${dstText}`;
    const entry = byDst.get(key) ?? { dst: dstText, family: dst.version, paths: [] };
    const via = formatIp(hop);
    if (!entry.paths.some((p) => p.via === via)) entry.paths.push({ via, dev });
    byDst.set(key, entry);
  }
  return [...byDst.values()].map(({ dst, family, paths }) =>
    paths.length === 1 ? { dst, via: paths[0]!.via, dev: paths[0]!.dev, family } : { dst, nexthops: paths, family },
  );
}

/** `base` with `extra` added; an extra route replaces a base route of the same destination (the gateway's default). */
export function withExtraRoutes(base: RouteSpec[], extra: RouteSpec[]): RouteSpec[] {
  const key = (r: RouteSpec) => `${r.family ?? (r.via && parseIp(r.via)?.version) ?? 4} ${r.dst}`;
  const replaced = new Set(extra.map(key));
  return [...base.filter((r) => !replaced.has(key(r))), ...extra];
}
