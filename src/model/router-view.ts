// A router's ports as the L3 role sees them: each port with the subnets of its fixed IPs, as
// Neutron's L3 RPC hands them to the agent (port['subnets']). One reading for the server's host
// view and the tracer's rebuilt one. Pure.
import type { AddressScopesView, PortView, RouterPortView, RouterSubnetView, RouterView } from './hostview.ts';
import { ROUTER_GW_OWNER } from './neutron.ts';

/** A network's address scopes, by network id. */
export type ScopesOf = (networkId: string) => AddressScopesView;

export const NO_ADDRESS_SCOPES: AddressScopesView = { '4': null, '6': null };

/** The subnets of `port`'s fixed IPs that `subnetOf` knows, each once, in fixed-IP order, and its network's scopes. */
export function routerPortView(port: PortView, subnetOf: (id: string) => RouterSubnetView | undefined, scopesOf: ScopesOf): RouterPortView {
  const subnets: RouterSubnetView[] = [];
  for (const f of port.fixed_ips) {
    const s = subnetOf(f.subnet_id);
    if (s && !subnets.some((x) => x.id === s.id)) subnets.push(s);
  }
  return { port, subnets, address_scopes: scopesOf(port.network_id) };
}

/** The gateway (when `gwPortId` names one of `ports` with a known subnet) and the interfaces of one router. */
export function routerPorts(
  routerId: string,
  ports: readonly PortView[],
  isGateway: (p: PortView) => boolean,
  subnetOf: (id: string) => RouterSubnetView | undefined,
  scopesOf: ScopesOf,
): { gateway: RouterPortView | null; interfaces: RouterPortView[] } {
  const own = ports.filter((p) => p.device_id === routerId);
  const gwPort = own.find((p) => p.device_owner === ROUTER_GW_OWNER && isGateway(p));
  const gateway = gwPort ? routerPortView(gwPort, subnetOf, scopesOf) : null;
  return {
    gateway: gateway && gateway.subnets.length ? gateway : null,
    interfaces: own
      .filter((p) => p.device_owner !== ROUTER_GW_OWNER)
      .map((p) => routerPortView(p, subnetOf, scopesOf))
      .filter((r) => r.subnets.length > 0),
  };
}

/** The networks an HA router's ports are on: the standby hosts wire them too (only the active one's ports are bound there). */
export const haRouterNetworks = (routers: RouterView[]): string[] =>
  routers
    .filter((r) => r.ha)
    .flatMap((r) => [...(r.gateway ? [r.gateway] : []), ...r.interfaces, { port: r.ha!.port }])
    .map((p) => p.port.network_id);
