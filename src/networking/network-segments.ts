// The network segments resource (Neutron's segment extension, neutron/services/segments/db.py):
// admins list, show, rename, add and remove a network's segments; everyone else sees none (404).
// A segment added to a network is validated and reserved by its type driver as on network create,
// and must leave room for the network's MTU; a removed one frees its VLAN. `hosts`: the L2 agents
// whose mappings reach the segment's physical network (the segment host mappings).
import { type ResourceSpec, standardAttributes } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { invalidInput, notFound, policyDenied } from '../model/errors.ts';
import { AGENT_L2 } from '../model/neutron.ts';
import { isString, isStringOrNull, isUuid, toInt } from '../model/validators.ts';
import type { ServerConfig } from '../server-config.ts';
import type { NetworkSegmentRow } from '../store/schema/index.ts';
import { newId, parseJson, recordChange, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import { networkNotFound } from './networks.ts';
import { nullableIntFilter, nullableTextFilter, sqlListing, standardColumns, textColumn } from './list-sql.ts';
import { allocateSegment, networkMaxMtu, segmentKey, segmentsByNetwork, validateProviderSegment } from './segments.ts';

export const segmentSpec: ResourceSpec = {
  singular: 'segment',
  plural: 'segments',
  attributes: {
    id: { filter: true, sort: true },
    network_id: { post: true, required: true, validate: isUuid, filter: true, sort: true },
    name: { post: true, put: true, default: null, validate: isStringOrNull(255), filter: true, sort: true },
    description: { post: true, put: true, default: '', validate: isString(255), filter: true, sort: true },
    physical_network: { post: true, default: null, validate: isStringOrNull(64), filter: true, sort: true },
    network_type: { post: true, required: true, validate: isString(255), filter: true, sort: true },
    segmentation_id: { post: true, default: null, convert: (v) => (v === null ? null : toInt(v)), sort: true },
    hosts: {},
    segment_index: {},
    ...standardAttributes,
  },
};

const segmentNotFound = (id: string) => notFound('SegmentNotFound', `Segment ${id} could not be found.`);
/** What Neutron's policy hook answers a non-admin for an admin-only resource: it could not be found. */
const hidden = () => notFound('HTTPNotFound', 'The resource could not be found.');

/** The hosts of L2 agents whose interface or bridge mappings name each physical network. */
async function hostsByPhysnet(tx: Tx): Promise<Map<string, string[]>> {
  const agents = await tx
    .selectFrom('agents')
    .select(['host', 'configurations'])
    .where('agent_type', '=', AGENT_L2)
    .orderBy('host')
    .execute();
  const out = new Map<string, string[]>();
  for (const a of agents) {
    const c = parseJson<{ interface_mappings?: Record<string, string>; bridge_mappings?: Record<string, string> }>(a.configurations);
    for (const physnet of new Set([...Object.keys(c.interface_mappings ?? {}), ...Object.keys(c.bridge_mappings ?? {})])) {
      out.set(physnet, [...(out.get(physnet) ?? []), a.host]);
    }
  }
  return out;
}

function segmentToApi(r: NetworkSegmentRow, hosts: Map<string, string[]>): Item {
  return {
    id: r.id,
    network_id: r.network_id,
    name: r.name,
    description: r.description,
    physical_network: r.physical_network,
    network_type: r.network_type,
    segmentation_id: r.segmentation_id,
    hosts: r.physical_network === null ? [] : (hosts.get(r.physical_network) ?? []),
    segment_index: r.segment_index,
    created_at: r.created_at,
    updated_at: r.updated_at,
    revision_number: r.revision_number,
  };
}

/** Segments as lists filter, sort and page them (no project: segments are the admin's). */
const { name: _nullableName, project_id: _noProject, ...segmentStandardColumns } = standardColumns;
const segmentListing = sqlListing(
  {
    table: 'network_segments',
    columns: { ...segmentStandardColumns, network_id: textColumn('network_id'), network_type: textColumn('network_type') },
    filters: {
      name: nullableTextFilter('network_segments', 'name'),
      physical_network: nullableTextFilter('network_segments', 'physical_network'),
      segmentation_id: nullableIntFilter('network_segments', 'segmentation_id'),
    },
  },
  (tx) => tx.selectFrom('network_segments').selectAll('network_segments'),
  async (tx, rows) => {
    const hosts = await hostsByPhysnet(tx);
    return rows.map((r) => segmentToApi(r, hosts));
  },
  segmentNotFound,
);

async function getSegment(tx: Tx, ctx: AuthContext, id: string): Promise<NetworkSegmentRow> {
  if (!ctx.isAdmin) throw hidden();
  const row = await tx.selectFrom('network_segments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw segmentNotFound(id);
  return row;
}

/** A new segment of the network, after its others (the last index + 1), reserved by its type driver. */
async function newSegmentRow(tx: Tx, config: ServerConfig, a: Item): Promise<NetworkSegmentRow> {
  const networkId = a.network_id as string;
  const network = await tx.selectFrom('networks').select(['id', 'mtu']).where('id', '=', networkId).executeTakeFirst();
  if (!network) throw networkNotFound(networkId);
  const requested = validateProviderSegment(config, {
    network_type: a.network_type as string,
    physical_network: a.physical_network as string | null,
    segmentation_id: a.segmentation_id as number | null,
  });
  const s = await allocateSegment(tx, config, requested);
  const others = (await segmentsByNetwork(tx, [networkId])).get(networkId)!;
  // _get_network_mtu(validate=True): the network's MTU must fit every segment, the new one too.
  const max = networkMaxMtu(config, [...others, s]);
  if (network.mtu > max) throw invalidInput(`Requested MTU is too big, maximum is ${max}`);
  const now = timestamp();
  return {
    id: newId(),
    network_id: networkId,
    ...s,
    segment_key: segmentKey(s),
    segment_index: others.length ? others.at(-1)!.segment_index + 1 : 0,
    name: a.name as string | null,
    description: a.description as string,
    revision_number: 0,
    created_at: now,
    updated_at: now,
  };
}

export function segmentService(config: ServerConfig): ResourceService {
  return {
    spec: segmentSpec,

    async list(tx, ctx, filters) {
      return ctx.isAdmin ? segmentListing.list(tx, ctx, filters) : [];
    },

    async listPage(tx, ctx, q) {
      // A member sees none: the in-memory path answers (an empty list, or the marker's refusal).
      return ctx.isAdmin ? segmentListing.listPage(tx, ctx, q) : null;
    },

    async show(tx, ctx, id) {
      return segmentToApi(await getSegment(tx, ctx, id), await hostsByPhysnet(tx));
    },

    async create(tx, ctx, a) {
      if (!ctx.isAdmin) throw policyDenied('rule:create_segment');
      const row = await newSegmentRow(tx, config, a);
      // The writes: the segment, its VLAN's allocation, the network's change-feed entry (its agents rewire).
      await tx.insertInto('network_segments').values(row).execute();
      if (row.network_type === 'vlan') {
        await tx
          .insertInto('ml2_vlan_allocations')
          .values({ physical_network: row.physical_network!, vlan_id: row.segmentation_id!, network_id: row.network_id })
          .execute();
      }
      await notifyNetwork(tx, row.network_id);
      return this.show(tx, ctx, row.id);
    },

    async update(tx, ctx, id, a) {
      const row = await getSegment(tx, ctx, id);
      const next = {
        name: 'name' in a ? (a.name as string | null) : row.name,
        description: 'description' in a ? (a.description as string) : row.description,
        revision_number: row.revision_number + 1,
        updated_at: timestamp(),
      };
      await tx.updateTable('network_segments').set(next).where('id', '=', id).execute();
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const row = await getSegment(tx, ctx, id);
      // The writes: the segment, its VLAN's allocation, the network's change-feed entry.
      await tx.deleteFrom('network_segments').where('id', '=', id).execute();
      if (row.network_type === 'vlan') {
        await tx
          .deleteFrom('ml2_vlan_allocations')
          .where('physical_network', '=', row.physical_network!)
          .where('vlan_id', '=', row.segmentation_id!)
          .execute();
      }
      await notifyNetwork(tx, row.network_id);
    },
  };
}

/** A network's segments changed: its change-feed entry, so the agents that wire it plan it again. */
async function notifyNetwork(tx: Tx, networkId: string): Promise<void> {
  const net = await tx.selectFrom('networks').select('project_id').where('id', '=', networkId).executeTakeFirst();
  if (net) await recordChange(tx, 'network', networkId, 'update', net.project_id);
}
