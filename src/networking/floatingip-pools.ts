// Floating IP pools (Neutron's floatingip-pools extension, neutron/db/l3_fip_pools_db.py): every IPv4
// subnet of every external network, whoever owns it — Neutron reads the subnets with an elevated
// context so a project sees the pools of external networks shared with it — each answered with the
// caller's own project id. Read-only: nothing is stored for a pool.
import type { ResourceSpec } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import type { Item, Tx } from './common.ts';

const readOnly = { filter: true, sort: true };

export const floatingIpPoolSpec: ResourceSpec = {
  singular: 'floatingip_pool',
  plural: 'floatingip_pools',
  attributes: {
    subnet_id: readOnly,
    subnet_name: readOnly,
    network_id: readOnly,
    cidr: readOnly,
    project_id: readOnly,
  },
};

export async function listFloatingIpPools(tx: Tx, ctx: AuthContext): Promise<Item[]> {
  const rows = await tx
    .selectFrom('subnets')
    .innerJoin('networks', 'networks.id', 'subnets.network_id')
    .select(['subnets.id', 'subnets.name', 'subnets.network_id', 'subnets.cidr'])
    .where('networks.router_external', '=', 1)
    .where('subnets.ip_version', '=', 4)
    .execute();
  return rows.map((r) => ({
    subnet_id: r.id,
    subnet_name: r.name,
    network_id: r.network_id,
    cidr: r.cidr,
    project_id: ctx.projectId,
    tenant_id: ctx.projectId,
  }));
}
