// Networks: ML2 segments (flat, vxlan), MTU, sharing and external flags, deletion rules.
import type { ServerConfig } from '../server-config.js';
import { type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.js';
import type { AuthContext } from '../model/context.js';
import { conflict, invalidInput, notFound, policyDenied } from '../model/errors.js';
import { AUTO_DELETE_PORT_OWNERS, FLOATINGIP_OWNER, NETWORK_OWNER_PREFIX, ROUTER_GW_OWNER } from '../model/neutron.js';
import { canSeeNetwork, ownerOrAdmin } from '../model/policy.js';
import { inRange, isAvailabilityZoneHints, isString, isStringOrNull, toBoolean, toInt, toIntOrNull } from '../model/validators.js';
import type { NetworkRow } from '../store/schema/index.js';
import {
  bool,
  int,
  newId,
  recordChange,
  standardFields,
  stringFilter,
  timestamp,
  type Item,
  type ResourceService,
  type Tx,
} from './common.js';
import { enforceQuota } from './quotas.js';
import { allocateSegment, maxMtu, segmentKey, tenantSegment, validateProviderSegment } from './segments.js';
import { ensureDefaultSecurityGroup } from './securitygroups.js';

export const networkSpec: ResourceSpec = {
  singular: 'network',
  plural: 'networks',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    description: { ...textAttribute, sort: false },
    admin_state_up: { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true },
    status: { filter: true, sort: true },
    shared: { post: true, put: true, default: false, convert: toBoolean, adminSet: true, filter: true },
    'router:external': { post: true, put: true, default: false, convert: toBoolean, adminSet: true, filter: true },
    mtu: { post: true, put: true, convert: toInt, validate: inRange(0, 65535), filter: true, sort: true },
    port_security_enabled: { post: true, put: true, default: true, convert: toBoolean, filter: true },
    'provider:network_type': { post: true, put: true, validate: isString(255), adminSet: true, adminRead: true, filter: true },
    'provider:physical_network': { post: true, put: true, validate: isStringOrNull(64), adminSet: true, adminRead: true, filter: true },
    'provider:segmentation_id': {
      post: true,
      put: true,
      convert: toIntOrNull,
      adminSet: true,
      adminRead: true,
      filter: true,
      filterConvert: toInt,
    },
    subnets: { filter: true },
    availability_zone_hints: { post: true, default: () => [], validate: isAvailabilityZoneHints, filter: false },
    availability_zones: { filter: false },
    ipv4_address_scope: { filter: false },
    ipv6_address_scope: { filter: false },
    ...standardAttributes,
  },
};

export function networkToApi(row: NetworkRow, subnets: string[]): Item {
  return {
    id: row.id,
    name: row.name,
    admin_state_up: bool(row.admin_state_up),
    status: row.status,
    subnets,
    shared: bool(row.shared),
    'router:external': bool(row.router_external),
    mtu: row.mtu,
    port_security_enabled: bool(row.port_security_enabled),
    'provider:network_type': row.network_type,
    'provider:physical_network': row.physical_network,
    'provider:segmentation_id': row.segmentation_id,
    availability_zone_hints: [],
    availability_zones: [],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    ...standardFields(row),
  };
}

/** Loads a network the caller may see, or NetworkNotFound. */
export async function getVisibleNetwork(tx: Tx, ctx: AuthContext, id: string): Promise<NetworkRow> {
  const row = await tx.selectFrom('networks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !canSeeNetwork(ctx, row)) throw notFound('NetworkNotFound', `Network ${id} could not be found.`);
  return row;
}

async function subnetIdsByNetwork(tx: Tx, networkIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!networkIds.length) return out;
  const rows = await tx.selectFrom('subnets').select(['id', 'network_id']).where('network_id', 'in', networkIds).execute();
  for (const r of rows) out.set(r.network_id, [...(out.get(r.network_id) ?? []), r.id]);
  return out;
}

export function networkService(config: ServerConfig): ResourceService {
  const toApiMany = async (tx: Tx, rows: NetworkRow[]) => {
    const subnets = await subnetIdsByNetwork(
      tx,
      rows.map((r) => r.id),
    );
    return rows.map((r) => networkToApi(r, subnets.get(r.id) ?? []));
  };

  const effectiveMtu = (type: string, requested: unknown) => {
    const max = maxMtu(config, type);
    if (requested === undefined || requested === 0) return max;
    if ((requested as number) > max) throw invalidInput(`Requested MTU is too big, maximum is ${max}`);
    if ((requested as number) < 68) throw invalidInput(`Requested MTU is too small, minimum is 68`);
    return requested as number;
  };

  return {
    spec: networkSpec,

    async list(tx, ctx, filters) {
      let q = tx.selectFrom('networks').selectAll();
      const ids = stringFilter(filters, 'id');
      if (ids) q = q.where('id', 'in', ids);
      const rows = (await q.execute()).filter((r) => canSeeNetwork(ctx, r));
      return toApiMany(tx, rows);
    },

    async show(tx, ctx, id) {
      return (await toApiMany(tx, [await getVisibleNetwork(tx, ctx, id)]))[0];
    },

    async create(tx, ctx, a) {
      // No availability zones are known to the scheduler (the extension is not offered): a hint names none.
      const [hint] = a.availability_zone_hints as string[];
      if (hint !== undefined) throw notFound('AvailabilityZoneNotFound', `AvailabilityZone ${hint} could not be found.`);
      const projectId = a.project_id as string;
      await enforceQuota(tx, projectId, 'network');
      const given = ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'].some((k) => k in a);
      const segment = await allocateSegment(
        tx,
        config,
        given
          ? validateProviderSegment(config, {
              network_type: a['provider:network_type'] as string | undefined,
              physical_network: a['provider:physical_network'] as string | undefined,
              segmentation_id: a['provider:segmentation_id'] as number | undefined,
            })
          : tenantSegment(config),
      );
      const now = timestamp();
      const row: NetworkRow = {
        id: newId(),
        project_id: projectId,
        name: a.name as string,
        description: a.description as string,
        admin_state_up: int(a.admin_state_up),
        status: 'ACTIVE',
        shared: int(a.shared),
        router_external: int(a['router:external']),
        mtu: effectiveMtu(segment.network_type, a.mtu),
        port_security_enabled: int(a.port_security_enabled),
        network_type: segment.network_type,
        physical_network: segment.physical_network,
        segmentation_id: segment.segmentation_id,
        segment_key: segmentKey(segment),
        revision_number: 0,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('networks').values(row).execute();
      await ensureDefaultSecurityGroup(tx, projectId);
      await recordChange(tx, 'network', row.id, 'create', projectId);
      return networkToApi(row, []);
    },

    async update(tx, ctx, id, a) {
      const row = await getVisibleNetwork(tx, ctx, id);
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:update_network');
      for (const [attr, col] of [
        ['provider:network_type', 'network_type'],
        ['provider:physical_network', 'physical_network'],
        ['provider:segmentation_id', 'segmentation_id'],
      ] as const) {
        if (attr in a && a[attr] !== row[col]) {
          throw invalidInput(`Plugin does not support updating the following provider network attributes: ${attr}`);
        }
      }
      if (a.shared === false && row.shared) {
        const others = await tx
          .selectFrom('ports')
          .select('id')
          .where('network_id', '=', id)
          .where('project_id', '!=', row.project_id)
          .where('device_owner', 'not like', `${NETWORK_OWNER_PREFIX}%`)
          .executeTakeFirst();
        if (others) {
          throw conflict(
            'InvalidSharedSetting',
            `Unable to reconfigure sharing settings for network ${id}. Multiple tenants are using it.`,
          );
        }
      }
      if (a['router:external'] === false && row.router_external) {
        const gw = await tx
          .selectFrom('ports')
          .select('id')
          .where('network_id', '=', id)
          .where('device_owner', 'in', [ROUTER_GW_OWNER, FLOATINGIP_OWNER])
          .executeTakeFirst();
        if (gw) {
          throw conflict(
            'ExternalNetworkInUse',
            `External network ${id} cannot be updated to be made non-external, since it has existing gateway ports.`,
          );
        }
      }
      const next: Partial<NetworkRow> = {
        name: (a.name as string) ?? row.name,
        description: (a.description as string) ?? row.description,
        admin_state_up: 'admin_state_up' in a ? int(a.admin_state_up) : row.admin_state_up,
        shared: 'shared' in a ? int(a.shared) : row.shared,
        router_external: 'router:external' in a ? int(a['router:external']) : row.router_external,
        port_security_enabled: 'port_security_enabled' in a ? int(a.port_security_enabled) : row.port_security_enabled,
        mtu: 'mtu' in a ? effectiveMtu(row.network_type, a.mtu) : row.mtu,
        revision_number: row.revision_number + 1,
        updated_at: timestamp(),
      };
      await tx.updateTable('networks').set(next).where('id', '=', id).execute();
      await recordChange(tx, 'network', id, 'update', row.project_id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const row = await getVisibleNetwork(tx, ctx, id);
      // Visible (shared or external) but not the caller's: 403, as for update (the caller may see it).
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:delete_network');
      const ports = await tx.selectFrom('ports').select(['id', 'device_owner']).where('network_id', '=', id).execute();
      const blocking = ports.filter((p) => !AUTO_DELETE_PORT_OWNERS.includes(p.device_owner));
      if (blocking.length) {
        throw conflict(
          'NetworkInUse',
          `Unable to complete operation on network ${id}. There are one or more ports still in use on the network, id for these ports is: ${blocking.map((p) => p.id).join(', ')}.`,
        );
      }
      for (const p of ports) {
        await tx.deleteFrom('ports').where('id', '=', p.id).execute();
        await recordChange(tx, 'port', p.id, 'delete', row.project_id);
      }
      const subnets = await tx.selectFrom('subnets').select('id').where('network_id', '=', id).execute();
      for (const s of subnets) {
        await tx.deleteFrom('subnets').where('id', '=', s.id).execute();
        await recordChange(tx, 'subnet', s.id, 'delete', row.project_id);
      }
      await tx.deleteFrom('networks').where('id', '=', id).execute();
      await recordChange(tx, 'network', id, 'delete', row.project_id);
    },
  };
}
