// Neutron Zed's legacy owner-based policy: who may see and change what. Pure.
import type { AuthContext } from './context.js';
import { NETWORK_OWNER_PREFIX } from './neutron.js';

export interface Owned {
  project_id: string;
}

export const isOwner = (ctx: AuthContext, obj: Owned) => obj.project_id === ctx.projectId;
export const ownerOrAdmin = (ctx: AuthContext, obj: Owned) => ctx.isAdmin || isOwner(ctx, obj);

export interface NetworkVisibility extends Owned {
  shared: number | boolean;
  router_external: number | boolean;
}

/** Networks: owner, admin, or anyone when shared or external (RBAC to '*'). */
export const canSeeNetwork = (ctx: AuthContext, net: NetworkVisibility) =>
  ownerOrAdmin(ctx, net) || Boolean(net.shared) || Boolean(net.router_external);

/**
 * Subnets: their project, the network's owner, admin, or anyone when the network is shared. An external
 * network's subnets stay private (access_as_external grants the network, not its subnets).
 */
export const canSeeSubnet = (ctx: AuthContext, subnet: Owned, net: NetworkVisibility) =>
  ownerOrAdmin(ctx, subnet) || isOwner(ctx, net) || Boolean(net.shared);

/** Ports: their project, the network's owner, or admin. */
export const canSeePort = (ctx: AuthContext, port: Owned, network: Owned | undefined) =>
  ownerOrAdmin(ctx, port) || (network !== undefined && isOwner(ctx, network));

/** Device owners reserved for the network's owner (rule:network_device). */
export const isNetworkDevice = (deviceOwner: string) => deviceOwner.startsWith(NETWORK_OWNER_PREFIX);
