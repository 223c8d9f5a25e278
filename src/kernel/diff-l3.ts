// Addresses, routes, neighbour and fdb entries, sysctls of one namespace: extras first (owned only), then what is missing.
import { isOwnedFdb, isOwnedNeigh, isOwnedRoute } from './mark.ts';
import type { Op, Unresolved } from './ops.ts';
import {
  routeDevices,
  type DesiredNamespace,
  type NexthopSpec,
  type NsKey,
  type ObservedNamespace,
  type ObservedRoute,
  type RouteSpec,
} from './types.ts';
import { cidrFamily, ipFamily } from './values.ts';
import { markedDevices } from './work.ts';

export interface NsPlan {
  ops: Op[];
  unresolved: Unresolved[];
}

export function diffSysctls(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace): Op[] {
  return want.sysctls.filter((s) => have.sysctls[s.key] !== s.value).map((s) => ({ op: 'sysctl', ns, key: s.key, value: s.value }));
}

export function diffAddresses(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace, out: NsPlan): void {
  const marked = markedDevices(have);
  const key = (dev: string, address: string) => `${dev} ${address}`;
  const wanted = new Set(want.addresses.map((a) => key(a.dev, a.address)));
  const present = new Set(have.addresses.map((a) => key(a.dev, a.address)));
  const daemons = new Set(want.daemonAddressDevices ?? []);
  for (const a of have.addresses) {
    // Kernel-made IPv6 link-local addresses are never neutrino's to remove, nor a daemon's addresses.
    if (!marked.has(a.dev) || (a.family === 6 && a.scope === 'link') || daemons.has(a.dev) || wanted.has(key(a.dev, a.address))) continue;
    out.ops.push({ op: 'addr-del', ns, addr: { dev: a.dev, address: a.address } });
  }
  for (const a of want.addresses) {
    if (present.has(key(a.dev, a.address)) || missingDev(ns, have, a.dev, `address ${a.address}`, out)) continue;
    out.ops.push({ op: 'addr-add', ns, addr: a });
  }
}

/** 'family dst metric': the kernel's identity of a route in one table (tos aside). */
export function routeKey(r: { dst: string; family?: 4 | 6; via?: string; metric?: number }): string {
  const family = r.family ?? routeFamily(r);
  return `${family} ${r.dst} ${r.metric ?? defaultMetric(family)}`;
}

export function routeFamily(r: { dst: string; via?: string; family?: 4 | 6 }): 4 | 6 {
  if (r.dst !== 'default') return cidrFamily(r.dst);
  if (r.via !== undefined && ipFamily(r.via) !== 0) return ipFamily(r.via) as 4 | 6;
  return r.family ?? 4;
}

/** IPv4 routes default to metric 0, IPv6 routes to 1024. */
export const defaultMetric = (family: 4 | 6): number => (family === 4 ? 0 : 1024);

/** Two multipath routes' paths, in any order (or both none). */
const samePaths = (a: NexthopSpec[] | undefined, b: NexthopSpec[] | undefined): boolean => {
  const text = (hs: NexthopSpec[] | undefined) =>
    (hs ?? [])
      .map((h) => `${h.via} ${h.dev}`)
      .sort()
      .join(',');
  return text(a) === text(b);
};

function routeMatches(want: RouteSpec, got: ObservedRoute): boolean {
  return (
    isOwnedRoute(got) &&
    got.via === want.via &&
    samePaths(want.nexthops, got.nexthops) &&
    (want.dev === undefined || got.dev === want.dev) &&
    (want.scope === undefined || got.scope === want.scope) &&
    (want.src === undefined || got.src === want.src)
  );
}

export function diffRoutes(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace, out: NsPlan): void {
  const byKey = new Map(have.routes.map((r) => [routeKey(r), r]));
  const wanted = new Set(want.routes.map(routeKey));
  for (const r of have.routes) {
    if (isOwnedRoute(r) && !wanted.has(routeKey(r))) out.ops.push({ op: 'route-del', ns, route: observedRouteSpec(r) });
  }
  for (const r of want.routes) {
    const got = byKey.get(routeKey(r));
    if (got && routeMatches(r, got)) continue;
    if (routeDevices(r).some((dev) => missingDev(ns, have, dev, `route ${r.dst}`, out))) continue;
    out.ops.push({ op: 'route-replace', ns, route: { ...r, family: routeFamily(r) } });
  }
}

function observedRouteSpec(r: ObservedRoute): RouteSpec {
  const spec: RouteSpec = { dst: r.dst, family: r.family };
  if (r.via !== undefined) spec.via = r.via;
  if (r.dev !== undefined) spec.dev = r.dev;
  if (r.metric !== undefined) spec.metric = r.metric;
  return spec;
}

export function diffNeigh(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace, out: NsPlan): void {
  const marked = markedDevices(have);
  const key = (dev: string, ip: string) => `${dev} ${ip}`;
  const wanted = new Set(want.neigh.map((n) => key(n.dev, n.ip)));
  const byKey = new Map(have.neigh.map((n) => [key(n.dev, n.ip), n]));
  for (const n of have.neigh) {
    if (!isOwnedNeigh(n, marked) || wanted.has(key(n.dev, n.ip))) continue;
    out.ops.push({ op: 'neigh-del', ns, neigh: { dev: n.dev, ip: n.ip, lladdr: n.lladdr ?? '' } });
  }
  for (const n of want.neigh) {
    const got = byKey.get(key(n.dev, n.ip));
    if (got && got.lladdr === n.lladdr && got.state.includes('PERMANENT')) continue;
    if (missingDev(ns, have, n.dev, `neighbour ${n.ip}`, out)) continue;
    out.ops.push({ op: 'neigh-replace', ns, neigh: n });
  }
}

export function diffFdb(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace, out: NsPlan): void {
  const marked = markedDevices(have);
  const key = (dev: string, mac: string, dst: string | undefined) => `${dev} ${mac} ${dst ?? ''}`;
  const wanted = new Set(want.fdb.map((f) => key(f.dev, f.mac, f.dst)));
  const present = new Set(have.fdb.filter((f) => f.flags.includes('self')).map((f) => key(f.dev, f.mac, f.dst)));
  // A VXLAN device with a multicast group holds the kernel's own flooding entry toward it.
  const groupEntries = new Set(have.links.filter((l) => l.vxlan?.group).map((l) => key(l.name, '00:00:00:00:00:00', l.vxlan!.group)));
  for (const f of have.fdb) {
    if (!isOwnedFdb(f, marked) || wanted.has(key(f.dev, f.mac, f.dst)) || groupEntries.has(key(f.dev, f.mac, f.dst))) continue;
    out.ops.push({ op: 'fdb-del', ns, fdb: { dev: f.dev, mac: f.mac, dst: f.dst ?? '' } });
  }
  for (const f of want.fdb) {
    if (present.has(key(f.dev, f.mac, f.dst)) || missingDev(ns, have, f.dev, `fdb entry ${f.mac} dst ${f.dst}`, out)) continue;
    out.ops.push({ op: 'fdb-add', ns, fdb: f });
  }
}

/** An entry on a link that does not exist (and will not be created) cannot be added: report it. */
function missingDev(ns: NsKey, have: ObservedNamespace, dev: string, object: string, out: NsPlan): boolean {
  if (have.links.some((l) => l.name === dev)) return false;
  out.unresolved.push({ ns, object, reason: `link ${dev} does not exist` });
  return true;
}
