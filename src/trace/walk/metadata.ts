// `trace instance … --metadata`: the path of an instance's request to 169.254.169.254 as Neutron
// builds it. On a subnet a router is attached to (a router interface holds its gateway): the
// router's REDIRECT to its metadata proxy, the proxy, the metadata agent on the router's node. On an
// isolated subnet: the proxy in the DHCP namespace, the metadata agent there, and the route DHCP
// gives the instance to it. The instance's own route table, when the snapshot has it, shows the route
// it takes on either path. Over IPv6 (fe80::a9fe:a9fe), radvd's route and the router's ip6tables
// REDIRECT, or the address the isolated network's proxy also binds, after the IPv4 hops. Pure.
import { dhcpNamespace, nsName } from '../../kernel/names.ts';
import { AGENT_DHCP, DHCP_OWNER, ROUTER_INTERFACE_OWNERS } from '../../model/neutron.ts';
import { haproxyProcessId, METADATA_IP, METADATA_V6_IP } from '../../planner/metadata.ts';
import { agentNote, byId, fixedIps, str, type TraceContext } from '../context.ts';
import { finish } from '../finish.ts';
import type { TraceReport } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';
import { routerHostOf, routerNotHosted } from '../checks/ha.ts';
import { apiHop, result, type HopDraft } from '../checks/checks.ts';
import { radvdHop } from '../checks/ipv6.ts';
import {
  instanceMetadataRouteHop,
  metadataAddressHop,
  metadataAgentHop,
  metadataProxyHop,
  metadataRedirectHops,
  metadataRouteHop,
} from '../checks/metadata.ts';
import { routerRef } from '../checks/router.ts';
import { dhcpNotHosted } from '../checks/dhcp-checks.ts';
import { ipv4PortTarget, portTarget } from './dhcp.ts';
import { dhcpHostsOf } from './dhcp-exchange.ts';

/** The router interface holding the subnet's gateway address, and its router (the subnet is then not isolated). */
function attachedRouter(ctx: TraceContext, subnet: ApiObject): { router: ApiObject; intf: ApiObject } | undefined {
  const gw = str(subnet, 'gateway_ip');
  const intf = ctx.api.ports.find(
    (p) =>
      ROUTER_INTERFACE_OWNERS.includes(str(p, 'device_owner')) && fixedIps(p).some((f) => f.subnet_id === subnet.id && f.ip_address === gw),
  );
  const router = intf ? byId(ctx.api.routers, intf['device_id']) : undefined;
  return router && intf ? { router, intf } : undefined;
}

/** The router's node, or the hop saying no L3 agent hosts it. */
function routerHost(ctx: TraceContext, router: ApiObject): string | HopDraft {
  const host = routerHostOf(ctx, router);
  if (host) return host;
  return result(
    apiHop('router hosted', routerRef(router)),
    { l3_agent: 'a live L3 agent' },
    { l3_agents: [] },
    [],
    routerNotHosted(
      ctx,
      router,
      `router ${str(router, 'name') || router.id} is not hosted by any L3 agent: no metadata proxy serves its networks`,
    ),
  );
}

function routerPath(ctx: TraceContext, router: ApiObject, port: ApiObject, subnet: ApiObject): HopDraft[] {
  const host = routerHost(ctx, router);
  if (typeof host !== 'string') return [host];
  // The instance reaches the router's REDIRECT through the subnet's gateway (DHCP's route, or its default route).
  const route = instanceMetadataRouteHop(ctx, port, subnet, str(subnet, 'gateway_ip'));
  return [
    ...(route ? [route] : []),
    ...metadataRedirectHops(ctx, host, router),
    metadataProxyHop(ctx, host, { kind: 'router', router }),
    metadataAgentHop(ctx, host),
  ];
}

/**
 * The IPv6 path to fe80::a9fe:a9fe, from the instance's link-local address: on a subnet a router
 * is attached to, radvd's route to it via the router, the router's ip6tables REDIRECT to the same
 * proxy; on an isolated network, the address on the DHCP port's device where that proxy also
 * listens. [] when the port's network has no IPv6 subnet that path serves.
 */
function ipv6Path(ctx: TraceContext, net: ApiObject, port: ApiObject): HopDraft[] {
  const subnets = ctx.api.subnets.filter((s) => s['network_id'] === net.id && Number(s['ip_version']) === 6);
  const own = fixedIps(port).find((f) => f.ip_address.includes(':'));
  const routed = (own ? subnets.filter((s) => s.id === own.subnet_id) : subnets)
    .map((s) => ({ s, on: attachedRouter(ctx, s) }))
    .find((x) => x.on);
  if (routed) {
    const { router, intf } = routed.on!;
    const host = routerHost(ctx, router);
    if (typeof host !== 'string') return [host];
    const ra = radvdHop(ctx, host, router, intf, routed.s, 'request', true);
    return [
      ...(ra ? [ra] : []),
      ...metadataRedirectHops(ctx, host, router, 6),
      metadataProxyHop(ctx, host, { kind: 'router', router }),
      metadataAgentHop(ctx, host),
    ];
  }
  if (!subnets.some((s) => s['enable_dhcp'] !== false)) return [];
  const host = dhcpHostsOf(ctx, net)[0];
  const dhcpPort = host ? dhcpPortOf(ctx, net, host) : undefined;
  if (!host || !dhcpPort) return [];
  return [
    metadataAddressHop(ctx, host, net, nsName(dhcpPort.id)),
    metadataProxyHop(ctx, host, { kind: 'network', network: net }),
    metadataAgentHop(ctx, host),
  ];
}

const dhcpPortOf = (ctx: TraceContext, net: ApiObject, host: string) =>
  ctx.api.ports.find(
    (p) =>
      p['network_id'] === net.id && p['device_owner'] === DHCP_OWNER && (str(p, 'binding:host_id') === host || !str(p, 'binding:host_id')),
  );

/** `more` after `hops`, without a second check of what `hops` already checked (the proxy and agent of a dual-stack path). */
const joinPaths = (hops: HopDraft[], more: HopDraft[]): HopDraft[] => {
  const key = (h: HopDraft) => `${h.check} ${h.node} ${h.namespace}`;
  const seen = new Set(hops.map(key));
  return [...hops, ...more.filter((h) => !seen.has(key(h)))];
};

function isolatedPath(ctx: TraceContext, net: ApiObject, subnet: ApiObject, port: ApiObject): HopDraft[] {
  const hosts = dhcpHostsOf(ctx, net);
  const host = hosts[0];
  const notServed = (cause: string) => ({ status: 'missing' as const, reason: 'METADATA_PROXY_NOT_RUNNING' as const, cause });
  const proxyHop = (verdict: Parameters<typeof result>[4]) =>
    result(
      apiHop('metadata proxy', { type: 'network', id: net.id, name: str(net, 'name') || undefined }),
      { metadata: 'served' },
      null,
      [],
      verdict,
    );
  const none = (cause: string) => proxyHop(notServed(cause));
  if (!host)
    return [
      proxyHop(
        dhcpNotHosted(
          ctx,
          net,
          notServed(
            `subnet ${str(subnet, 'cidr')} is isolated (no router holds its gateway) and no ${AGENT_DHCP} hosts network ${str(net, 'name') || net.id}: nothing serves metadata to its instances`,
          ),
        ),
      ),
    ];
  const planned = ctx.nodes[host]?.desired?.namespaces[dhcpNamespace(net.id)]?.processes.some((p) => p.id === haproxyProcessId(net.id));
  if (ctx.nodes[host]?.desired && !planned)
    return [
      none(
        `subnet ${str(subnet, 'cidr')} is isolated (no router holds its gateway) and the ${AGENT_DHCP} on ${host} serves no metadata there: [DEFAULT] enable_isolated_metadata and force_metadata are off; ${agentNote(ctx, host, AGENT_DHCP)}`,
      ),
    ];
  const dhcpPort = dhcpPortOf(ctx, net, host);
  const dhcpIp = dhcpPort ? fixedIps(dhcpPort).find((f) => f.subnet_id === subnet.id)?.ip_address : undefined;
  // The route the instance took, when its table is in the snapshot; else the one DHCP hands out.
  const route = dhcpIp ? (instanceMetadataRouteHop(ctx, port, subnet, dhcpIp) ?? metadataRouteHop(ctx, host, net, subnet, dhcpIp)) : null;
  return [metadataProxyHop(ctx, host, { kind: 'network', network: net }), metadataAgentHop(ctx, host), ...(route ? [route] : [])];
}

export function traceMetadata(ctx: TraceContext, port: ApiObject, query: string, started = Date.now()): TraceReport {
  const net = byId(ctx.api.networks, port['network_id'])!;
  const v4 = fixedIps(port).find((f) => !f.ip_address.includes(':'));
  const subnet = v4 ? byId(ctx.api.subnets, v4.subnet_id) : undefined;
  const v6Hops = ipv6Path(ctx, net, port);
  const flow = { protocol: 'tcp' as const, port: 80 };
  const target = subnet
    ? ipv4PortTarget(ctx, port, { kind: 'instance', query, flow, destination: METADATA_IP })
    : portTarget(ctx, port, 6, { kind: 'instance', query, flow, destination: METADATA_V6_IP });
  if (!subnet && !v6Hops.length)
    return finish(
      ctx,
      target,
      [
        result(
          apiHop('metadata route', { type: 'port', id: port.id }),
          { fixed_ip: 'an IPv4 address, or an IPv6 subnet on its network' },
          { fixed_ips: fixedIps(port) },
          [],
          {
            status: 'missing',
            reason: 'METADATA_ROUTE_MISSING',
            cause: `port ${port.id} has no IPv4 address and its network no IPv6 subnet: it cannot reach ${METADATA_IP} nor ${METADATA_V6_IP}`,
          },
        ),
      ],
      started,
    );
  const on = subnet ? attachedRouter(ctx, subnet) : undefined;
  if (on) target.router = { id: on.router.id, name: str(on.router, 'name'), host: routerHostOf(ctx, on.router) };
  const v4Hops = !subnet ? [] : on ? routerPath(ctx, on.router, port, subnet) : isolatedPath(ctx, net, subnet, port);
  return finish(ctx, target, joinPaths(v4Hops, v6Hops), started);
}
