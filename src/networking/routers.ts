// Routers (legacy, centralized, neutron/db/l3_db.py + l3_gwmode_db.py): the router resource itself.
// Its gateway (router-gateway.ts), interfaces (router-interfaces.ts) and shared pieces (router-common.ts)
// live alongside; every router name stays importable from here.
import { type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.ts';
import { badRequest, conflict } from '../model/errors.ts';
import { isAvailabilityZoneHints, isExternalGatewayInfo, toBoolean } from '../model/validators.ts';
import { validateAvailabilityZones } from './availability-zones.ts';
import type { RouterRow } from '../store/schema/index.ts';
import { bool, int, newId, recordChange, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import type { AuthContext } from '../model/context.ts';
import { boolColumn, projectColumns, sqlListing, textColumn, type ListTable } from './list-sql.ts';
import { routerNotFound } from './lookups.ts';
import { allocateVrId, deleteHaNetworkIfUnused, ensureHaNetwork, unbindHaRouterEverywhere, wantsHa } from './l3-ha.ts';
import { deletePort } from './ports.ts';
import { enforceQuota } from './quotas.ts';
import { badRouter, getVisibleRouter, interfaceOwner, routerPorts, routersToApi, systemContext, touchPort } from './router-common.ts';
import { checkGatewayPolicy, parseGatewayInfo, updateGateway } from './router-gateway.ts';
import { scheduleRouter } from './l3-scheduler.ts';
import type { ServerConfig } from '../server-config.ts';
import { tagAttributes, tagFiltersInSql } from './tags.ts';
import { parseRoutes, validateRoutes, type ExtraRoute } from './extra-routes.ts';
import { providerOfFlavor } from './flavors.ts';

export { floatingIpService } from './floatingips.ts';
export { addRouterInterface, removeRouterInterface, type InterfaceInfo } from './router-interfaces.ts';

/** `external_gateway_info: {}` clears the gateway, as `null` does (type:dict_or_nodata). */
const emptyToNull = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? null : v);

export const routerSpec: ResourceSpec = {
  singular: 'router',
  plural: 'routers',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    description: { ...textAttribute, sort: false },
    admin_state_up: { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true },
    status: { filter: true, sort: true },
    external_gateway_info: { post: true, put: true, default: null, convert: emptyToNull, validate: isExternalGatewayInfo, filter: false },
    routes: { put: true, convert: (v) => parseRoutes(v), filter: false },
    distributed: { post: true, put: true, convert: toBoolean, adminSet: true, adminRead: true, filter: true },
    ha: { post: true, put: true, convert: toBoolean, adminSet: true, adminRead: true, filter: true },
    // l3-flavors: set on create only; no filter (is_filter is not set in Neutron's attribute map).
    flavor_id: { post: true, sort: true, filter: false },
    availability_zone_hints: { post: true, default: () => [], validate: isAvailabilityZoneHints, filter: false },
    availability_zones: { filter: false },
    ...standardAttributes,
    ...tagAttributes(),
  },
};

/** The routers table as lists filter and sort it (`ha`, stored, and `distributed`, never, stay in memory). */
const routerTable: ListTable = {
  table: 'routers',
  columns: {
    ...projectColumns,
    status: textColumn('status'),
    admin_state_up: boolColumn('admin_state_up'),
  },
  filters: tagFiltersInSql('routers'),
};

/** The routers the caller sees: its project's, or every one for admins. */
function visibleRouters(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('routers').selectAll('routers');
  return ctx.isAdmin ? q : q.where('routers.project_id', '=', ctx.projectId);
}

/** Only centralized routers (legacy or HA) exist here; without the dvr extension `distributed` is unknown. */
function checkCentralized(config: ServerConfig, a: Item): void {
  if (!config.enableDvr && 'distributed' in a) throw badRequest("Unrecognized attribute(s) 'distributed'");
  if (a.distributed === true) throw badRouter('Distributed routers are not supported: neutrino provides centralized routers only');
}

/**
 * _validate_router_migration with router-admin-state-down-before-update: `distributed` changes only
 * while the router is down before and after the update; only then does the refusal of DVR come.
 */
function checkDistributedMigration(config: ServerConfig, router: RouterRow, a: Item): void {
  if (a.distributed === true && config.enableDvr) {
    const upAfter = 'admin_state_up' in a ? a.admin_state_up === true : bool(router.admin_state_up);
    if (bool(router.admin_state_up) || upAfter)
      throw badRouter(
        "Cannot change the 'distributed' attribute of active routers. Please set router admin_state_up to False prior to upgrade",
      );
  }
  checkCentralized(config, a);
}

/** _validate_migration: `ha` changes only on a router that is (or is being set) administratively down. */
function checkHaMigration(router: RouterRow, a: Item): boolean {
  if (a.ha === undefined || a.ha === null || int(a.ha) === router.ha) return false;
  const up = 'admin_state_up' in a ? a.admin_state_up === true : bool(router.admin_state_up);
  if (up) throw badRouter('Cannot change HA attribute of active routers. Please set router admin_state_up to False prior to upgrade');
  return true;
}

/**
 * _reconfigure_ha_resources: the router leaves its agents and is scheduled again as what it became;
 * its interfaces change owner (_migrate_router_ports).
 */
async function migrateHa(tx: Tx, config: ServerConfig, router: RouterRow, ha: boolean): Promise<Partial<RouterRow>> {
  const owner = { from: interfaceOwner(router), to: interfaceOwner({ ha: ha ? 1 : 0 }) };
  for (const p of await routerPorts(tx, router.id, [owner.from])) await touchPort(tx, p, { device_owner: owner.to });
  if (ha) {
    const deleted = await tx.deleteFrom('router_l3_agents').where('router_id', '=', router.id).executeTakeFirst();
    if (Number(deleted.numDeletedRows)) await recordChange(tx, 'router', router.id, 'update', null);
    await ensureHaNetwork(tx, config, router.project_id);
    return { ha: 1, ha_vr_id: await allocateVrId(tx, router.project_id, router.id) };
  }
  await unbindHaRouterEverywhere(tx, router.id);
  return { ha: 0, ha_vr_id: 0 };
}

function newRouterRow(projectId: string, a: Item): RouterRow {
  const now = timestamp();
  return {
    id: newId(),
    project_id: projectId,
    name: a.name as string,
    description: a.description as string,
    admin_state_up: int(a.admin_state_up),
    status: 'ACTIVE',
    gw_port_id: null,
    enable_snat: 1,
    routes: '[]',
    availability_zone_hints: JSON.stringify(a.availability_zone_hints ?? []),
    flavor_id: (a.flavor_id as string | undefined) ?? null,
    ha: 0,
    ha_vr_id: 0,
    revision_number: 0,
    created_at: now,
    updated_at: now,
  };
}

export function routerService(config: ServerConfig): ResourceService {
  return {
    spec: routerSpec,

    ...sqlListing(routerTable, visibleRouters, routersToApi, routerNotFound),

    async show(tx, ctx, id) {
      return (await routersToApi(tx, [await getVisibleRouter(tx, ctx, id)]))[0];
    },

    async create(tx, ctx, a) {
      checkGatewayPolicy(ctx, 'create', a.external_gateway_info);
      checkCentralized(config, a);
      if ('flavor_id' in a) await providerOfFlavor(tx, a.flavor_id);
      const projectId = a.project_id as string;
      await enforceQuota(tx, projectId, 'router');
      await validateAvailabilityZones(tx, 'router', a.availability_zone_hints as string[]);
      const row = newRouterRow(projectId, a);
      if (wantsHa(config, a)) {
        // _before_router_create: the project's HA network exists before the router does.
        await ensureHaNetwork(tx, config, projectId);
        Object.assign(row, { ha: 1, ha_vr_id: await allocateVrId(tx, projectId, row.id) });
      }
      await tx.insertInto('routers').values(row).execute();
      const info = parseGatewayInfo(a.external_gateway_info);
      if (info) {
        const gw = await updateGateway(tx, ctx, row, info);
        await tx.updateTable('routers').set(gw).where('id', '=', row.id).execute();
        Object.assign(row, gw);
      }
      await recordChange(tx, 'router', row.id, 'create', projectId);
      await scheduleRouter(tx, config, row.id);
      return (await routersToApi(tx, [row]))[0];
    },

    async update(tx, ctx, id, a) {
      const router = await getVisibleRouter(tx, ctx, id);
      checkGatewayPolicy(ctx, 'update', a.external_gateway_info);
      checkDistributedMigration(config, router, a);
      const ha = checkHaMigration(router, a) ? await migrateHa(tx, config, router, a.ha === true) : {};
      // ExtraRoute_dbonly_mixin.update_router: the routes are checked against the ports before the gateway changes.
      if ('routes' in a) await validateRoutes(tx, router, a.routes as ExtraRoute[]);
      const gw = 'external_gateway_info' in a ? await updateGateway(tx, ctx, router, parseGatewayInfo(a.external_gateway_info)) : {};
      await tx
        .updateTable('routers')
        .set({
          ...gw,
          ...ha,
          name: (a.name as string) ?? router.name,
          description: (a.description as string) ?? router.description,
          admin_state_up: 'admin_state_up' in a ? int(a.admin_state_up) : router.admin_state_up,
          routes: 'routes' in a ? JSON.stringify(a.routes) : router.routes,
          revision_number: router.revision_number + 1,
          updated_at: timestamp(),
        })
        .where('id', '=', id)
        .execute();
      await recordChange(tx, 'router', id, 'update', router.project_id);
      if (ha.ha === 0) await deleteHaNetworkIfUnused(tx, config, router.project_id);
      await scheduleRouter(tx, config, id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const router = await getVisibleRouter(tx, ctx, id);
      // _ensure_router_not_in_use
      const attached = await routerPorts(tx, id, [interfaceOwner(router)]);
      if (attached.length) {
        throw conflict('RouterInUse', `Router ${id} has ports still attached: ${attached.map((p) => p.id).join(', ')}`);
      }
      // _delete_current_gw_port (to no network), then any other port still naming the router.
      if (router.gw_port_id) await updateGateway(tx, ctx, router, null);
      for (const p of await routerPorts(tx, id)) await deletePort(tx, systemContext, p.id, true);
      await unbindHaRouterEverywhere(tx, id);
      await tx.deleteFrom('router_l3_agents').where('router_id', '=', id).execute();
      await tx.deleteFrom('routers').where('id', '=', id).execute();
      await recordChange(tx, 'router', id, 'delete', router.project_id);
      if (router.ha) await deleteHaNetworkIfUnused(tx, config, router.project_id);
    },
  };
}
