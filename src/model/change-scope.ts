// Which host views one change can alter. A change names a row; its scope is that row as it is now
// (read once, for every host: networking/change-scopes.ts), and a view is concerned when the row
// went into it (its deps name it: the state before) or would go into it now. Kinds whose reach is not
// worth working out (subnet pools, metering, anything unknown) concern every view. Pure.
import type { PortView } from './hostview.ts';
import { heldRemoteEntry, memberEntry, remoteEntry, remotePortOf, type HostViewDeps } from './hostview-deps.ts';

export type ChangeScope =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'port-status'; id: string }
  /** `now`: the port as it is; its host's VXLAN endpoint ('' when none) */
  | { kind: 'port'; id: string; now: { port: PortView; vtep: string } | null }
  | { kind: 'network'; id: string; dhcpHosts: string[] }
  | { kind: 'subnet'; id: string; network: string | null }
  | { kind: 'router'; id: string; hosts: string[] }
  | { kind: 'floatingip'; id: string; router: string | null }
  | { kind: 'security_group'; id: string }
  | { kind: 'security_group_rule'; id: string; group: string | null }
  | { kind: 'address_group'; id: string }
  /** an agent's host, that host's VXLAN endpoint now ('' when none) and the networks of the ports bound to it now */
  | { kind: 'agent'; host: string; vtep: string; networks: string[] };

export function concerns(deps: HostViewDeps, scope: ChangeScope): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'port-status':
      // Views show no status: the bound host's agent reported it (and so knows), and no planning reads it.
      return false;
    case 'port':
      return portConcerns(deps, scope.id, scope.now);
    case 'network':
      return deps.networks.has(scope.id) || deps.routerNetworks.has(scope.id) || scope.dhcpHosts.includes(deps.host);
    case 'subnet':
      return (
        deps.subnets.has(scope.id) ||
        (scope.network !== null && (deps.networks.has(scope.network) || deps.routerNetworks.has(scope.network)))
      );
    case 'router':
      return deps.routers.has(scope.id) || scope.hosts.includes(deps.host);
    case 'floatingip':
      return deps.floatingips.has(scope.id) || (scope.router !== null && deps.routers.has(scope.router));
    case 'security_group':
      return deps.groups.has(scope.id);
    case 'security_group_rule':
      return deps.rules.has(scope.id) || (scope.group !== null && deps.groups.has(scope.group));
    case 'address_group':
      return deps.addressGroups.has(scope.id);
    case 'agent': {
      // Views read agents only for VXLAN endpoints (and this host's own agents, by host): a view is
      // concerned when the endpoint it assumed for a host with ports on its VXLAN networks moved.
      if (scope.host === deps.host) return true;
      const assumed = deps.boundHosts.get(scope.host) ?? '';
      return assumed !== scope.vtep && (deps.boundHosts.has(scope.host) || scope.networks.some((n) => deps.vxlanNetworks.has(n)));
    }
  }
}

function portConcerns(deps: HostViewDeps, id: string, now: { port: PortView; vtep: string } | null): boolean {
  if (deps.portsShown.has(id)) return true;
  const heldRemote = heldRemoteEntry(deps, id);
  const heldMember = deps.members.get(id) ?? '';
  if (!now) return heldRemote !== '' || heldMember !== '';
  const p = now.port;
  if (p.binding_host_id === deps.host || deps.dhcpNetworks.has(p.network_id) || deps.routers.has(p.device_id)) return true;
  // As hostview.ts picks remote ports: bound on one of the view's VXLAN networks, to another host with another endpoint.
  const remote =
    p.binding_host_id !== '' && deps.vxlanNetworks.has(p.network_id) && now.vtep !== '' && now.vtep !== deps.vtep
      ? remoteEntry(remotePortOf(p, now.vtep))
      : '';
  if (remote !== heldRemote) return true;
  const member = memberEntry(
    p.security_groups,
    p.fixed_ips.map((f) => f.ip_address),
    deps.remoteGroups,
  );
  return member !== heldMember;
}
