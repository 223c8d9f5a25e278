// `trace instance … --metadata`: the path of an instance's request to 169.254.169.254 as Neutron
// builds it. On a subnet a router is attached to (a router interface holds its gateway): the
// router's REDIRECT to its metadata proxy, the proxy, the metadata agent on the router's node. On an
// isolated subnet: the proxy in the DHCP namespace, the metadata agent there, and the route DHCP
// gives the instance to it. The instance's own route table, when the snapshot has it, shows the route
// it takes on either path. Pure.
import { dhcpNamespace } from '../../kernel/names.js';
import { AGENT_DHCP, DHCP_OWNER, ROUTER_INTERFACE_OWNERS } from '../../model/neutron.js';
import { haproxyProcessId, METADATA_IP } from '../../planner/metadata.js';
import { agentNote, byId, fixedIps, str, type TraceContext } from '../context.js';
import { finish } from '../finish.js';
import type { TraceReport } from '../report.js';
import type { ApiObject } from '../snapshot.js';
import { apiHop, result, type HopDraft } from '../checks/checks.js';
import {
  instanceMetadataRouteHop,
  metadataAgentHop,
  metadataProxyHop,
  metadataRedirectHops,
  metadataRouteHop,
} from '../checks/metadata.js';
import { routerRef } from '../checks/router.js';
import { ipv4PortTarget } from './dhcp.js';
import { dhcpHostsOf } from './dhcp-exchange.js';

/** The router whose interface holds the subnet's gateway address (the subnet is then not isolated). */
function attachedRouter(ctx: TraceContext, subnet: ApiObject): ApiObject | undefined {
  const gw = str(subnet, 'gateway_ip');
  const intf = ctx.api.ports.find(
    (p) =>
      ROUTER_INTERFACE_OWNERS.includes(str(p, 'device_owner')) && fixedIps(p).some((f) => f.subnet_id === subnet.id && f.ip_address === gw),
  );
  return intf ? byId(ctx.api.routers, intf['device_id']) : undefined;
}

function routerPath(ctx: TraceContext, router: ApiObject, port: ApiObject, subnet: ApiObject): HopDraft[] {
  const host = (ctx.api.router_hosts[router.id] ?? [])[0];
  if (!host)
    return [
      result(apiHop('router hosted', routerRef(router)), { l3_agent: 'a live L3 agent' }, { l3_agents: [] }, [], {
        status: 'missing',
        reason: 'ROUTER_NOT_SCHEDULED',
        cause: `router ${str(router, 'name') || router.id} is not hosted by any L3 agent: no metadata proxy serves its networks`,
      }),
    ];
  // The instance reaches the router's REDIRECT through the subnet's gateway (DHCP's route, or its default route).
  const route = instanceMetadataRouteHop(ctx, port, subnet, str(subnet, 'gateway_ip'));
  return [
    ...(route ? [route] : []),
    ...metadataRedirectHops(ctx, host, router),
    metadataProxyHop(ctx, host, { kind: 'router', router }),
    metadataAgentHop(ctx, host),
  ];
}

function isolatedPath(ctx: TraceContext, net: ApiObject, subnet: ApiObject, port: ApiObject): HopDraft[] {
  const hosts = dhcpHostsOf(ctx, net);
  const host = hosts[0];
  const none = (cause: string) =>
    result(
      apiHop('metadata proxy', { type: 'network', id: net.id, name: str(net, 'name') || undefined }),
      { metadata: 'served' },
      null,
      [],
      {
        status: 'missing',
        reason: 'METADATA_PROXY_NOT_RUNNING',
        cause,
      },
    );
  if (!host)
    return [
      none(
        `subnet ${str(subnet, 'cidr')} is isolated (no router holds its gateway) and no ${AGENT_DHCP} hosts network ${str(net, 'name') || net.id}: nothing serves metadata to its instances`,
      ),
    ];
  const planned = ctx.nodes[host]?.desired?.namespaces[dhcpNamespace(net.id)]?.processes.some((p) => p.id === haproxyProcessId(net.id));
  if (ctx.nodes[host]?.desired && !planned)
    return [
      none(
        `subnet ${str(subnet, 'cidr')} is isolated (no router holds its gateway) and the ${AGENT_DHCP} on ${host} serves no metadata there: [DEFAULT] enable_isolated_metadata and force_metadata are off; ${agentNote(ctx, host, AGENT_DHCP)}`,
      ),
    ];
  const dhcpPort = ctx.api.ports.find(
    (p) =>
      p['network_id'] === net.id && p['device_owner'] === DHCP_OWNER && (str(p, 'binding:host_id') === host || !str(p, 'binding:host_id')),
  );
  const dhcpIp = dhcpPort ? fixedIps(dhcpPort).find((f) => f.subnet_id === subnet.id)?.ip_address : undefined;
  // The route the instance took, when its table is in the snapshot; else the one DHCP hands out.
  const route = dhcpIp ? (instanceMetadataRouteHop(ctx, port, subnet, dhcpIp) ?? metadataRouteHop(ctx, host, net, subnet, dhcpIp)) : null;
  return [metadataProxyHop(ctx, host, { kind: 'network', network: net }), metadataAgentHop(ctx, host), ...(route ? [route] : [])];
}

export function traceMetadata(ctx: TraceContext, port: ApiObject, query: string, started = Date.now()): TraceReport {
  const net = byId(ctx.api.networks, port['network_id'])!;
  const v4 = fixedIps(port).find((f) => !f.ip_address.includes(':'));
  const subnet = v4 ? byId(ctx.api.subnets, v4.subnet_id) : undefined;
  const target = ipv4PortTarget(ctx, port, { kind: 'instance', query, flow: { protocol: 'tcp', port: 80 }, destination: METADATA_IP });
  if (!subnet)
    return finish(
      ctx,
      target,
      [
        result(
          apiHop('metadata route', { type: 'port', id: port.id }),
          { fixed_ip: 'an IPv4 address' },
          { fixed_ips: fixedIps(port) },
          [],
          {
            status: 'missing',
            reason: 'METADATA_ROUTE_MISSING',
            cause: `port ${port.id} has no IPv4 address: it cannot reach ${METADATA_IP}`,
          },
        ),
      ],
      started,
    );
  const router = attachedRouter(ctx, subnet);
  if (router) target.router = { id: router.id, name: str(router, 'name'), host: (ctx.api.router_hosts[router.id] ?? [])[0] ?? null };
  return finish(ctx, target, router ? routerPath(ctx, router, port, subnet) : isolatedPath(ctx, net, subnet, port), started);
}
