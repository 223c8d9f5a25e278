// Auto-allocated topology (get-me-a-network, neutron/services/auto_allocate/db.py): on first request
// a project gets a network with a subnet from each default subnet pool, and a router from those
// subnets to the default external network. One unit of work builds it all or nothing; two requests
// racing for one project meet on the record's primary key, and the loser's retry finds the winner's.
import type { ServerConfig } from '../server-config.ts';
import { prepareCreate } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { conflict, forbidden, NeutronError } from '../model/errors.ts';
import type { AutoAllocatedTopologyRow } from '../store/schema/index.ts';
import type { Item, Tx } from './common.ts';
import { networkService } from './networks.ts';
import { removeRouterInterface, routerService, addRouterInterface } from './routers.ts';
import { badResourceRequest } from './router-common.ts';
import { subnetService } from './subnets.ts';
import { defaultSubnetPool } from './subnetpools.ts';

/** The `fields` value that asks only whether a topology could be built. */
const DRY_RUN = 'dry-run';

const allocationFailure = (reason: string) => conflict('AutoAllocationFailure', `Deployment error: ${reason}.`);

/** _validate: the path's project ("None": the caller's); only admins name another. */
function topologyProject(ctx: AuthContext, projectId: string): string {
  const project = projectId === 'None' ? ctx.projectId : projectId;
  if (!ctx.isAdmin && project !== ctx.projectId) throw forbidden('Not authorized.', 'NotAuthorized');
  return project;
}

const response = (id: string, projectId: string): Item => ({ id, tenant_id: projectId, project_id: projectId });

/** _get_default_external_network */
async function defaultExternalNetwork(tx: Tx): Promise<string> {
  const row = await tx
    .selectFrom('networks')
    .select('id')
    .where('is_default', '<>', 0)
    .where('router_external', '<>', 0)
    .orderBy('id')
    .executeTakeFirst();
  if (!row) throw allocationFailure('No default router:external network');
  return row.id;
}

/** _get_supported_subnetpools: the default pool of each family the caller sees. */
async function defaultPools(tx: Tx, ctx: AuthContext) {
  const pools = [await defaultSubnetPool(tx, ctx, 4), await defaultSubnetPool(tx, ctx, 6)].filter((p) => p !== undefined);
  return pools;
}

const topologyOf = (tx: Tx, projectId: string): Promise<AutoAllocatedTopologyRow | undefined> =>
  tx.selectFrom('auto_allocated_topologies').selectAll().where('project_id', '=', projectId).executeTakeFirst();

/** Reraises a step's failure: Neutron turns the step's bad requests and missing resources into AutoAllocationFailure. */
async function step<T>(reason: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof NeutronError && (e.status === 400 || e.status === 404 || e.type === 'SubnetAllocationError')) {
      throw allocationFailure(reason);
    }
    throw e;
  }
}

export function autoAllocatedTopologies(config: ServerConfig) {
  const networks = networkService(config);
  const subnets = subnetService(config);
  const routers = routerService(config);

  /** _provision_project_private_network: the network (down until the topology is saved) and its subnets. */
  async function provisionNetwork(tx: Tx, ctx: AuthContext, projectId: string): Promise<Item[]> {
    return step('Unable to provide project private network', async () => {
      const network = await networks.create(
        tx,
        ctx,
        prepareCreate(
          networks.spec,
          { network: { name: 'auto_allocated_network', admin_state_up: false, project_id: projectId, shared: false } },
          ctx,
        ),
      );
      const pools = await defaultPools(tx, ctx);
      // Neutron raises NotFound here, which step() turns into this step's failure.
      if (!pools.length) throw new NeutronError(404, 'NotFound', 'An unknown exception occurred.');
      const out: Item[] = [];
      for (const pool of pools) {
        const body = {
          subnet: {
            name: `auto_allocated_subnet_v${pool.ip_version}`,
            network_id: network.id,
            project_id: projectId,
            ip_version: pool.ip_version,
            subnetpool_id: pool.id,
          },
        };
        out.push(await subnets.create(tx, ctx, prepareCreate(subnets.spec, body, ctx)));
      }
      return out;
    });
  }

  /** _provision_external_connectivity: a router with its gateway on the external network and an interface on each subnet. */
  async function provisionRouter(tx: Tx, ctx: AuthContext, projectId: string, externalId: string, onSubnets: Item[]): Promise<string> {
    return step('Unable to provide external connectivity', async () => {
      const body = {
        router: {
          name: 'auto_allocated_router',
          external_gateway_info: { network_id: externalId },
          project_id: projectId,
          admin_state_up: true,
        },
      };
      const router = await routers.create(tx, ctx, prepareCreate(routers.spec, body, ctx));
      for (const s of onSubnets) await addRouterInterface(tx, ctx, router.id as string, { subnet_id: s.id });
      return router.id as string;
    });
  }

  return {
    /** GET /v2.0/auto-allocated-topology/{project_id}[?fields=dry-run] */
    async get(tx: Tx, ctx: AuthContext, projectIdParam: string, fields: string[]): Promise<Item> {
      const projectId = topologyProject(ctx, projectIdParam);
      if (fields.includes(DRY_RUN)) {
        await defaultExternalNetwork(tx);
        if (!(await defaultPools(tx, ctx)).length) throw allocationFailure('No default subnetpools defined');
        return response('dry-run=pass', projectId);
      }
      if (fields.length) throw badResourceRequest('auto_allocate', 'Unrecognized field');
      const existing = await topologyOf(tx, projectId);
      if (existing) return response(existing.network_id, projectId);
      const externalId = await defaultExternalNetwork(tx);
      const onSubnets = await provisionNetwork(tx, ctx, projectId);
      const networkId = onSubnets[0].network_id as string;
      const routerId = await provisionRouter(tx, ctx, projectId, externalId, onSubnets);
      // _save: the record (its primary key decides a race), then the network comes up.
      await tx
        .insertInto('auto_allocated_topologies')
        .values({ project_id: projectId, network_id: networkId, router_id: routerId })
        .execute();
      await networks.update(tx, ctx, networkId, { admin_state_up: true });
      return response(networkId, projectId);
    },

    /** DELETE /v2.0/auto-allocated-topology/{project_id}: the router's interfaces, the router, then the network (and with it the record). */
    async remove(tx: Tx, ctx: AuthContext, projectIdParam: string): Promise<void> {
      const projectId = topologyProject(ctx, projectIdParam);
      const topology = await topologyOf(tx, projectId);
      if (!topology) return;
      const routerId = topology.router_id;
      if (routerId) {
        const onNetwork = await tx.selectFrom('subnets').select('id').where('network_id', '=', topology.network_id).execute();
        for (const s of onNetwork) await ignoreNotFound(() => removeRouterInterface(tx, ctx, routerId, { subnet_id: s.id }));
        await ignoreNotFound(() => routers.remove(tx, ctx, routerId));
      }
      await ignoreNotFound(() => networks.remove(tx, ctx, topology.network_id));
    },
  };
}

/** _cleanup's ignore_notfound: what is gone already needs no removing. */
async function ignoreNotFound(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (e) {
    if (!(e instanceof NeutronError && e.status === 404)) throw e;
  }
}
