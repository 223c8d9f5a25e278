// Parsers of `ip -j addr show`, `ip -j -d route show table main` and `ip -j -d neigh show`.
import type { ObservedAddress, ObservedNeigh, ObservedRoute } from '../kernel/types.ts';
import { canonicalCidr, canonicalDst, canonicalIpOrThrow, canonicalMac } from '../kernel/values.ts';
import { num, optNum, optStr, parseArray, str, strList, type Obj } from './json.ts';

export const parseAddresses = (text: string): ObservedAddress[] => addressesFrom(parseArray(text, 'ip -j addr show'));

export function addressesFrom(links: Obj[]): ObservedAddress[] {
  const src = 'ip -j addr show';
  return links.flatMap((link) => {
    const dev = str(link, 'ifname', src);
    const infos = Array.isArray(link['addr_info']) ? (link['addr_info'] as Obj[]) : [];
    return infos
      .filter((a) => a['family'] === 'inet' || a['family'] === 'inet6')
      .map((a) => ({
        dev,
        address: canonicalCidr(`${str(a, 'local', src)}/${num(a, 'prefixlen', src)}`),
        family: a['family'] === 'inet' ? (4 as const) : (6 as const),
        scope: optStr(a, 'scope') ?? 'global',
      }));
  });
}

/**
 * `family` comes from the command (-4/-6), not the output: iproute2 prints both families' default
 * routes as "default" and carries no family field.
 */
export const parseRoutes = (text: string, family: 4 | 6): ObservedRoute[] => routesFrom(parseArray(text, 'ip -j -d route show'), family);

export function routesFrom(routes: Obj[], family: 4 | 6): ObservedRoute[] {
  const src = `ip -${family} -j -d route show table main`;
  return routes
    .filter((r) => (optStr(r, 'table') ?? 'main') === 'main')
    .map((r) => {
      const route: ObservedRoute = {
        dst: canonicalDst(str(r, 'dst', src)),
        family,
        // Without -d, and for RTPROT_BOOT, iproute2 leaves "protocol" out.
        protocol: optStr(r, 'protocol') ?? 'boot',
        scope: optStr(r, 'scope') ?? 'global',
        type: optStr(r, 'type') ?? 'unicast',
      };
      const via = optStr(r, 'gateway');
      if (via !== undefined) route.via = canonicalIpOrThrow(via);
      const dev = optStr(r, 'dev');
      if (dev !== undefined) route.dev = dev;
      if (Array.isArray(r['nexthops'])) {
        route.nexthops = (r['nexthops'] as Obj[]).map((h) => ({
          via: canonicalIpOrThrow(str(h, 'gateway', src)),
          dev: str(h, 'dev', src),
        }));
      }
      // IPv4 metric 0 is not printed.
      route.metric = optNum(r, 'metric') ?? 0;
      const src2 = optStr(r, 'prefsrc');
      if (src2 !== undefined) route.src = canonicalIpOrThrow(src2);
      return route;
    });
}

export const parseNeigh = (text: string): ObservedNeigh[] => neighFrom(parseArray(text, 'ip -j -d neigh show'));

export function neighFrom(entries: Obj[]): ObservedNeigh[] {
  const src = 'ip -j -d neigh show';
  return entries
    .filter((n) => typeof n['dev'] === 'string')
    .map((n) => {
      const entry: ObservedNeigh = { ip: canonicalIpOrThrow(str(n, 'dst', src)), dev: str(n, 'dev', src), state: strList(n, 'state') };
      const ll = optStr(n, 'lladdr');
      if (ll !== undefined && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(ll)) entry.lladdr = canonicalMac(ll);
      return entry;
    });
}
