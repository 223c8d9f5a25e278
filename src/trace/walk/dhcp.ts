// The DHCP leg of a port (`neutrino trace dhcp PORT`, and the first leg of `trace instance`): which
// family it follows (DHCPv4 unless the port has only IPv6 addresses or DHCPv6 is asked), what the
// port's addresses and subnets say before any packet (an address of the family, DHCP enabled), then
// the exchange (dhcp-exchange.ts; DHCPv6 and SLAAC in dhcp6.ts). Pure.
import { byId, fixedIpOf, fixedIps, str, type IpFamily, type TraceContext } from '../context.ts';
import { apiHop, result, type HopDraft } from '../checks/checks.ts';
import { finish, isHopWarning } from '../finish.ts';
import { refinish } from '../probe/probe-locate.ts';
import { portRef, segmentOf } from '../checks/l2.ts';
import { dhcpDisabledHop, exchangeHops } from './dhcp-exchange.ts';
import { dhcp6LegHops } from './dhcp6.ts';
import type { TraceReport, TraceTarget } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';
import { NO_DHCP_OWNERS } from '../../model/neutron.ts';

/** The hops of `port`'s DHCP exchange (DHCPv4; `dhcp6LegHops` for DHCPv6). */
export function dhcpLegHops(ctx: TraceContext, port: ApiObject): HopDraft[] {
  const v4 = fixedIps(port).filter((f) => !f.ip_address.includes(':'));
  const subnets = v4.map((f) => byId(ctx.api.subnets, f.subnet_id)).filter((s): s is ApiObject => !!s);
  if (!v4.length) {
    return [
      result(apiHop('IPv4 address', portRef(port)), { fixed_ips: 'an IPv4 address' }, { fixed_ips: fixedIps(port) }, [], {
        status: 'missing',
        reason: 'ADDRESS_MISSING',
        cause: `port ${port.id} has no IPv4 fixed IP: DHCP has nothing to give it`,
      }),
    ];
  }
  const off = subnets.find((s) => s['enable_dhcp'] === false);
  if (off) return [dhcpDisabledHop(port, off, 'DHCP')];
  return exchangeHops(
    ctx,
    port,
    4,
    v4.map((f) => f.ip_address),
  );
}

export class DhcpTraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DhcpTraceError';
  }
}

/** The port a DHCP trace is about: by id or an 8+ character id prefix; one Neutron serves DHCP to. */
export function dhcpClientPort(ctx: TraceContext, query: string): ApiObject {
  const port = ctx.api.ports.find((p) => p.id === query || (query.length >= 8 && p.id.startsWith(query)));
  if (!port) throw new DhcpTraceError(`no port ${query} exists (openstack port list)`);
  const owner = str(port, 'device_owner');
  if (NO_DHCP_OWNERS.includes(owner))
    throw new DhcpTraceError(`port ${port.id} is a ${owner} port: Neutron serves it no DHCP (trace an instance's port)`);
  return port;
}

/** The flow a DHCPv6 leg reports: to the servers' port (the client's is 546). */
export const DHCPV6_SERVER_PORT = 547;

/**
 * The family a DHCP trace follows when not asked: DHCPv4 when the port has an IPv4 address, else
 * DHCPv6 when it has an IPv6 one.
 */
export const dhcpFamilyOf = (port: ApiObject): IpFamily => (!fixedIpOf(port, 4) && fixedIpOf(port, 6) ? 6 : 4);

/** The target of a trace about one port's traffic of one family on its own network (its DHCP, its metadata). */
export function portTarget(
  ctx: TraceContext,
  port: ApiObject,
  family: IpFamily,
  o: Pick<TraceTarget, 'kind' | 'query' | 'flow' | 'destination'>,
): TraceTarget {
  const net = byId(ctx.api.networks, port['network_id'])!;
  const own = fixedIpOf(port, family);
  return {
    kind: o.kind,
    query: o.query,
    port: {
      id: port.id,
      fixed_ip: own?.ip_address ?? null,
      mac: str(port, 'mac_address').toLowerCase(),
      host: str(port, 'binding:host_id'),
      network_id: net.id,
    },
    network: { id: net.id, name: str(net, 'name'), type: segmentOf(net).type, segmentation_id: segmentOf(net).vni },
    flow: o.flow,
    ...(o.destination ? { destination: o.destination } : {}),
  };
}

/** The target of a trace about one port's IPv4 traffic on its own network. */
export const ipv4PortTarget = (ctx: TraceContext, port: ApiObject, o: Pick<TraceTarget, 'kind' | 'query' | 'flow' | 'destination'>) =>
  portTarget(ctx, port, 4, o);

export function traceDhcp(ctx: TraceContext, portQuery: string, started = Date.now(), family?: IpFamily): TraceReport {
  const port = dhcpClientPort(ctx, portQuery);
  const fam = family ?? dhcpFamilyOf(port);
  const flow = { protocol: 'udp' as const, port: fam === 6 ? DHCPV6_SERVER_PORT : 67 };
  const target = portTarget(ctx, port, fam, { kind: 'dhcp', query: portQuery, flow });
  if (fam === 4) return finish(ctx, target, dhcpLegHops(ctx, port), started);
  const leg = dhcp6LegHops(ctx, port);
  const report = finish(ctx, target, leg.hops, started);
  return leg.notes.length ? { ...report, warnings: [...report.warnings, ...leg.notes] } : report;
}

/**
 * `report` with the DHCP leg (a `traceDhcp` report, probed or not) before its hops: an instance gets
 * its address first. Renumbered and summarized again; the leg's probe kept as `dhcpProbe`.
 */
export function withDhcpLeg(leg: TraceReport, report: TraceReport): TraceReport {
  const hops = [...leg.hops, ...report.hops].map(({ index: _index, ...h }, i) => ({ index: i + 1, ...h }));
  const merged = refinish({ ...report, hops, warnings: [...leg.warnings.filter((w) => !isHopWarning(w)), ...report.warnings] });
  return leg.probe ? { ...merged, dhcpProbe: leg.probe } : merged;
}
