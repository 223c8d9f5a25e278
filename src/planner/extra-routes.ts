// A router's extra routes in its namespace (RouterInfo.routes_updated): `ip route replace <destination>
// via <nexthop>` in the main table, each through the router device whose subnet holds the next hop.
// Pure.
import type { RouteSpec } from '../kernel/types.js';
import { cidrContains, formatCidr, formatIp, parseIp, parsePrefix, type Ip } from '../model/ip.js';
import type { RouterView } from '../model/hostview.js';

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
 * the router's ports; a port not plugged here has no device yet, and its routes wait for it). A
 * zero-length destination is the family's default route. Several next hops for one destination:
 * the first, in the router's order (Neutron makes them one ECMP route; the kernel model here keys a
 * route by destination and keeps one next hop).
 */
export function extraRoutes(routes: RouterView['routes'], devices: readonly RouterDevice[]): RouteSpec[] {
  const out: RouteSpec[] = [];
  const seen = new Set<string>();
  for (const r of routes) {
    const dst = parsePrefix(r.destination);
    const hop = parseIp(r.nexthop);
    if (!dst || !hop || dst.version !== hop.version) continue;
    const dev = devices.find((d) => d.cidrs.some((c) => holds(c, hop)))?.dev;
    const dstText = dst.prefixLength === 0 ? 'default' : formatCidr(dst);
    const key = `${dst.version} ${dstText}`;
    if (!dev || seen.has(key)) continue;
    seen.add(key);
    out.push({ dst: dstText, via: formatIp(hop), dev, family: dst.version });
  }
  return out;
}

/** `base` with `extra` added; an extra route replaces a base route of the same destination (the gateway's default). */
export function withExtraRoutes(base: RouteSpec[], extra: RouteSpec[]): RouteSpec[] {
  const key = (r: RouteSpec) => `${r.family ?? (r.via && parseIp(r.via)?.version) ?? 4} ${r.dst}`;
  const replaced = new Set(extra.map(key));
  return [...base.filter((r) => !replaced.has(key(r))), ...extra];
}
