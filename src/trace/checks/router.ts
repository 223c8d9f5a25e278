// The router hops (Neutron's L3 agent, legacy router): the router port's veth pair between the
// network's bridge and qrouter-<id>, addresses, forwarding, routes and NAT rules. Pure.
import { AGENT_L2, AGENT_L3, ROUTER_GW_OWNER, ROUTER_INTERFACE_OWNERS } from '../../model/neutron.ts';
import { bridgeName, qgName, qrName, routerNamespace, tapName, wrapChain } from '../../kernel/names.ts';
import { HOST } from '../../kernel/types.ts';
import { cidrContains, parseIp, parsePrefix } from '../../model/ip.ts';
import type { IpFamily } from '../context.ts';
import { agentNote, type TraceContext } from '../context.ts';
import {
  checkAddress,
  checkLink,
  checkRule,
  desiredLink,
  isDraft,
  namespaceOr,
  observeCommand,
  result,
  wantOf,
  type HopDraft,
} from './checks.ts';
import { netRef, portRef, segmentOf } from './l2.ts';
import { sysctlValue } from './compare.ts';
import type { Hop, Reason, ResourceRef } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';
import { portForwardingChain, portForwardingRule } from '../../planner/port-forwarding.ts';
import type { PortForwardingView } from '../../model/hostview.ts';
import { internalPortOf, portsText } from '../expect/forwardings.ts';

export const routerRef = (r: ApiObject): ResourceRef => ({ type: 'router', id: r.id, name: String(r['name'] ?? '') });
export const l3Owner = (ctx: TraceContext, host: string, r: ApiObject) =>
  `the ${AGENT_L3} on ${host} makes it for router ${r['name'] || r.id}; ${agentNote(ctx, host, AGENT_L3)}`;

/**
 * A router port's veth: the tap end in the network's bridge (HOST) and the qr-/qg- end in the
 * router's namespace. Order follows the packet: `inward` = from the bridge into the router.
 */
export function routerPortHops(
  ctx: TraceContext,
  host: string,
  router: ApiObject,
  port: ApiObject,
  net: ApiObject,
  kind: 'qr' | 'qg',
  inward: boolean,
  leg: Hop['leg'],
): HopDraft[] {
  const node = ctx.nodes[host];
  const ns = routerNamespace(router.id);
  const inner = kind === 'qr' ? qrName(port.id) : qgName(port.id);
  const tap = tapName(port.id);
  const mtu = segmentOf(net).mtu;
  const tapHop = checkLink(
    node,
    { leg, node: host, namespace: HOST, device: tap, resource: portRef(port), check: 'veth in bridge' },
    wantOf(desiredLink(node, HOST, tap), { name: tap, up: true, master: bridgeName(net.id), mtu, peer: { name: inner, netns: ns } }),
    `${l3Owner(ctx, host, router)}; the ${AGENT_L2} on ${host} needs it in ${bridgeName(net.id)}`,
  );
  const innerHop = checkLink(
    node,
    { leg, node: host, namespace: ns, device: inner, resource: portRef(port), check: 'router port' },
    wantOf(desiredLink(node, ns, inner), { name: inner, up: true, mtu, peer: { name: tap, netns: HOST } }),
    l3Owner(ctx, host, router),
  );
  return inward ? [tapHop, innerHop] : [innerHop, tapHop];
}

/** The router port's own address(es) on its qr-/qg- device. */
export function routerAddressHop(
  ctx: TraceContext,
  host: string,
  router: ApiObject,
  port: ApiObject,
  dev: string,
  leg: Hop['leg'],
  family: IpFamily = 4,
): HopDraft {
  const fixed = (port['fixed_ips'] as Array<{ subnet_id: string; ip_address: string }>)?.find(
    (f) => parseIp(f.ip_address)?.version === family,
  );
  const subnet = fixed ? ctx.api.subnets.find((s) => s.id === fixed.subnet_id) : undefined;
  const prefix = subnet ? parsePrefix(String(subnet['cidr'])) : null;
  const address = fixed && prefix ? `${fixed.ip_address}/${prefix.prefixLength}` : '?';
  return checkAddress(
    ctx.nodes[host],
    { leg, node: host, namespace: routerNamespace(router.id), device: dev, resource: portRef(port), check: 'address' },
    dev,
    address,
    l3Owner(ctx, host, router),
  );
}

/** The sysctl that lets the router forward each family (Neutron's L3 agent sets both in the namespace). */
const FORWARDING = {
  4: { key: 'net.ipv4.ip_forward', check: 'ip_forward', what: 'IP forwarding' },
  6: { key: 'net.ipv6.conf.all.forwarding', check: 'ipv6 forwarding', what: 'IPv6 forwarding' },
} as const;

export function forwardingHop(ctx: TraceContext, host: string, router: ApiObject, leg: Hop['leg'], family: IpFamily = 4): HopDraft {
  const { key, check, what } = FORWARDING[family];
  return routerSysctlHop(ctx, host, router, leg, { key, check, want: '1' }, (value, ns, owner) => ({
    reason: 'FORWARDING_DISABLED',
    cause: `${what} is off in ${ns} on ${host} (${key} = ${value}): the router forwards no ${family === 4 ? '' : 'IPv6 '}traffic; ${owner}`,
  }));
}

/** One sysctl in the router's namespace: `want`, else the fault `differs` names (given the value read, the namespace and who sets it). */
export function routerSysctlHop(
  ctx: TraceContext,
  host: string,
  router: ApiObject,
  leg: Hop['leg'],
  s: { key: string; check: string; want: string },
  differs: (value: string, ns: string, owner: string) => { reason: Reason; cause: string },
): HopDraft {
  const ns = routerNamespace(router.id);
  const { key, check, want } = s;
  const base = { leg, node: host, namespace: ns, device: null, resource: routerRef(router), check };
  const owner = l3Owner(ctx, host, router);
  const o = namespaceOr(ctx.nodes[host], base, { [key]: want }, owner);
  if (isDraft(o)) return o;
  const raw = o.sysctls[key];
  const value = raw === undefined ? undefined : sysctlValue(raw);
  const evidence = [{ command: observeCommand(ns, 'sysctl', key), ...(value !== undefined ? { line: `${key} = ${value}` } : {}) }];
  if (value === undefined)
    return result(base, { [key]: want }, null, evidence, {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `${key} was not read in ${ns}`,
    });
  if (value !== want)
    return result(base, { [key]: want }, { [key]: value }, evidence, { status: 'mismatch', ...differs(value, ns, owner) });
  return result(base, { [key]: want }, { [key]: value }, evidence);
}

/** A route in the router namespace toward `dst` through `dev` (connected or via a gateway). */
export function routeHop(
  ctx: TraceContext,
  host: string,
  router: ApiObject,
  dst: string,
  dev: string,
  via: string | null,
  what: string,
  leg: Hop['leg'],
): HopDraft {
  const ns = routerNamespace(router.id);
  const base = { leg, node: host, namespace: ns, device: dev, resource: routerRef(router), check: 'route' };
  const expected = { to: dst, dev, ...(via ? { via } : {}) };
  const owner = l3Owner(ctx, host, router);
  const o = namespaceOr(ctx.nodes[host], base, expected, owner);
  if (isDraft(o)) return o;
  const family = dst === 'default' ? 4 : (parseIp(dst)?.version ?? 4);
  const any = family === 4 ? '0.0.0.0' : '::';
  const host_ = family === 4 ? 32 : 128;
  const ip = parseIp(dst === 'default' ? any : dst);
  const candidates = o.routes.filter((r) => r.family === family && r.type === 'unicast');
  // Longest prefix match, as the kernel does.
  const match = candidates
    .map((r) => ({ r, p: r.dst === 'default' ? parsePrefix(`${any}/0`) : parsePrefix(r.dst.includes('/') ? r.dst : `${r.dst}/${host_}`) }))
    .filter((x) => x.p && ip && (dst === 'default' ? x.r.dst === 'default' : cidrContains(x.p, ip)))
    .sort((a, b) => b.p!.prefixLength - a.p!.prefixLength)[0]?.r;
  const paths = (r: NonNullable<typeof match>) => (r.nexthops ?? []).map((h) => ` nexthop via ${h.via} dev ${h.dev}`).join('');
  const line = (r: typeof match) =>
    r && `${r.dst}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''} proto ${r.protocol} scope ${r.scope}${paths(r)}`;
  // A multipath route (several next hops of an extra route) takes the way when one of its paths is it.
  const takes = (r: NonNullable<typeof match>) =>
    r.nexthops ? r.nexthops.some((h) => h.dev === dev && (!via || h.via === via)) : r.dev === dev && (!via || r.via === via);
  const evidence = [{ command: observeCommand(ns, family === 4 ? 'route' : 'route6'), ...(match ? { line: line(match)! } : {}) }];
  if (!match)
    return result(base, expected, { route: null }, evidence, {
      status: 'missing',
      reason: 'NO_ROUTE',
      cause: `${ns} on ${host} has no ${family === 4 ? '' : 'IPv6 '}route to ${dst === 'default' ? 'the outside (default route)' : dst} (${what}); ${owner}`,
    });
  if (!takes(match)) {
    return result(base, expected, { route: line(match) }, evidence, {
      status: 'mismatch',
      reason: 'NO_ROUTE',
      cause: `${ns} on ${host} routes ${dst} via ${line(match)}, not through ${dev}${via ? ` via ${via}` : ''} (${what}); ${owner}`,
    });
  }
  return result(base, expected, { route: line(match) }, evidence);
}

/** A hop about floating IP `fip` in the router's namespace on `host`. */
export function floatingIpHopBase(
  host: string,
  router: ApiObject,
  fip: ApiObject,
  check: string,
  leg: Hop['leg'],
  device: string | null = null,
) {
  return {
    leg,
    node: host,
    namespace: routerNamespace(router.id),
    device,
    resource: { type: 'floatingip' as const, id: fip.id, name: String(fip['floating_ip_address']) },
    check,
  };
}

/** A floating IP's two NAT rules in the L3 agent's chains: its DNAT in, its SNAT out. */
const FIP_NAT = {
  DNAT: {
    chain: wrapChain('l3', 'PREROUTING'),
    rule: (address: string, fixed: string) => `-d ${address}/32 -j DNAT --to-destination ${fixed}`,
    missing: (address: string, fixed: string) => `the DNAT rule for floating IP ${address} → ${fixed} is missing`,
    effect: (address: string) => `packets to ${address} are not forwarded to the instance`,
  },
  SNAT: {
    chain: wrapChain('l3', 'float-snat'),
    rule: (address: string, fixed: string) => `-s ${fixed}/32 -j SNAT --to-source ${address} --random-fully`,
    missing: (address: string, fixed: string) => `the SNAT rule ${fixed} → ${address} is missing`,
    effect: () => 'connections the instance opens leave with another source address',
  },
};

function fipNatHop(
  kind: keyof typeof FIP_NAT,
  ctx: TraceContext,
  host: string,
  router: ApiObject,
  fip: ApiObject,
  leg: Hop['leg'],
): HopDraft {
  const address = String(fip['floating_ip_address']);
  const fixed = String(fip['fixed_ip_address']);
  const nat = FIP_NAT[kind];
  return checkRule(
    ctx.nodes[host],
    floatingIpHopBase(host, router, fip, kind, leg),
    'nat',
    nat.chain,
    nat.rule(address, fixed),
    l3Owner(ctx, host, router),
    `${nat.missing(address, fixed)} from ${nat.chain} in ${routerNamespace(router.id)} on ${host}: ${nat.effect(address)}`,
  );
}

export const dnatHop = (ctx: TraceContext, host: string, router: ApiObject, fip: ApiObject, leg: Hop['leg']): HopDraft =>
  fipNatHop('DNAT', ctx, host, router, fip, leg);
export const snatHop = (ctx: TraceContext, host: string, router: ApiObject, fip: ApiObject, leg: Hop['leg']): HopDraft =>
  fipNatHop('SNAT', ctx, host, router, fip, leg);

/**
 * A port forwarding's DNAT in its own chain, as the L3 agent's port_forwarding extension writes it
 * (port ranges included). `port`: the traced external port, named with the internal one it maps to.
 * A chain holding another rule instead (a wrong range or address) is named with that rule.
 */
export function forwardingDnatHop(
  ctx: TraceContext,
  host: string,
  router: ApiObject,
  fip: ApiObject,
  pf: Omit<PortForwardingView, 'floatingip_id' | 'floating_ip_address'>,
  leg: Hop['leg'],
  port?: number,
): HopDraft {
  const address = String(fip['floating_ip_address']);
  const chain = portForwardingChain(pf.id);
  const ns = routerNamespace(router.id);
  const inner = port !== undefined ? internalPortOf({ ...pf, floatingip_id: fip.id, floating_ip_address: address }, port) : null;
  const traced = port !== undefined && inner !== null && pf.external_port !== pf.external_port_end ? ` (port ${port} → ${inner})` : '';
  const what = `the port forwarding ${address}:${portsText(pf.external_port, pf.external_port_end)}/${pf.protocol} → ${pf.internal_ip_address}:${portsText(pf.internal_port, pf.internal_port_end)}${traced}`;
  const held = ctx.nodes[host]?.observed.namespaces[ns]?.iptables.nat?.find((c) => c.name === chain)?.rules ?? [];
  const instead = held.length ? ` (${chain} holds \`-A ${chain} ${held.join(`\`, \`-A ${chain} `)}\` instead)` : '';
  return checkRule(
    ctx.nodes[host],
    floatingIpHopBase(host, router, fip, 'DNAT', leg),
    'nat',
    chain,
    portForwardingRule({ ...pf, floatingip_id: fip.id, floating_ip_address: address }),
    l3Owner(ctx, host, router),
    `${what} is missing from ${chain} in ${ns} on ${host}${instead}: connections to it are not forwarded to the instance`,
  );
}

/** The conntrack entries of the floating IP in the router namespace: what the reply leg relies on. Informational. */
export function conntrackHop(ctx: TraceContext, host: string, router: ApiObject, fip: ApiObject, leg: Hop['leg']): HopDraft {
  const ns = routerNamespace(router.id);
  const address = String(fip['floating_ip_address']);
  const fixed = String(fip['fixed_ip_address']);
  const base = floatingIpHopBase(host, router, fip, 'conntrack', leg);
  const text = ctx.nodes[host]?.dump?.conntrack[ns];
  const expected = { original_dst: address, reply_src: fixed };
  if (text === undefined) return result(base, expected, null, [], undefined);
  const lines = text.split('\n').filter((l) => l.includes(`dst=${address} `) && l.includes(`src=${fixed} `));
  return result(base, expected, { entries: lines.length }, [
    { command: `ip netns exec ${ns} conntrack -L`, ...(lines[0] ? { line: lines[0].trim() } : {}) },
  ]);
}

/** The subnet (API object) holding `ip` on a network. */
export function subnetOf(ctx: TraceContext, networkId: string, ip: string): ApiObject | undefined {
  const addr = parseIp(ip);
  return ctx.api.subnets.find(
    (s) =>
      s['network_id'] === networkId &&
      addr &&
      (() => {
        const p = parsePrefix(String(s['cidr']));
        return !!p && cidrContains(p, addr);
      })(),
  );
}

export { netRef };

/** An extra route of a router that the kernel would take toward an address, and the device it leaves by. */
export interface ExtraRouteHop {
  destination: string;
  prefixLength: number;
  via: string;
  dev: string;
}

/**
 * The longest of the router's extra routes (`routes`) holding `dst`, through the router port (qr- or
 * qg-) whose subnet holds its next hop; null when none holds `dst` or its next hop is on no port.
 */
export function extraRouteTo(ctx: TraceContext, router: ApiObject, dst: string): ExtraRouteHop | null {
  const ip = parseIp(dst);
  if (!ip) return null;
  const routes = (Array.isArray(router['routes']) ? router['routes'] : []) as Array<{ destination: string; nexthop: string }>;
  const matching = routes
    .map((r) => ({ r, p: parsePrefix(r.destination) }))
    .filter((x) => x.p && cidrContains(x.p, ip))
    .sort((a, b) => b.p!.prefixLength - a.p!.prefixLength);
  for (const { r, p } of matching) {
    const port = ctx.api.ports.find(
      (x) =>
        x['device_id'] === router.id &&
        (ROUTER_INTERFACE_OWNERS.includes(String(x['device_owner'])) || x['device_owner'] === ROUTER_GW_OWNER) &&
        subnetOf(ctx, String(x['network_id']), r.nexthop) !== undefined,
    );
    if (!port) continue;
    const dev = port['device_owner'] === ROUTER_GW_OWNER ? qgName(port.id) : qrName(port.id);
    return { destination: r.destination, prefixLength: p!.prefixLength, via: r.nexthop, dev };
  }
  return null;
}
