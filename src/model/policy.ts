// Neutron Zed's legacy owner-based policy: who may see and change what. Pure.
import type { AuthContext } from './context.ts';
import { NETWORK_OWNER_PREFIX } from './neutron.ts';

export interface Owned {
  project_id: string;
}

export const isOwner = (ctx: AuthContext, obj: Owned) => obj.project_id === ctx.projectId;
export const ownerOrAdmin = (ctx: AuthContext, obj: Owned) => ctx.isAdmin || isOwner(ctx, obj);

/** Ports: their project, the network's owner, or admin. */
export const canSeePort = (ctx: AuthContext, port: Owned, network: Owned | undefined) =>
  ownerOrAdmin(ctx, port) || (network !== undefined && isOwner(ctx, network));

/** Device owners reserved for the network's owner (rule:network_device). */
export const isNetworkDevice = (deviceOwner: string) => deviceOwner.startsWith(NETWORK_OWNER_PREFIX);
