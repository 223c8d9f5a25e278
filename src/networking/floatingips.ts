// Floating IPs (neutron/db/l3_db.py): an address on an external network, held by a hidden port there,
// and DNAT'd by the router that connects the external network to the associated port's subnet.
import { type ResourceSpec, standardAttributes } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { NeutronError, notFound } from '../model/errors.ts';
import { parseIp } from '../model/ip.ts';
import { isIpOrNull, isString, isUuid, isUuidOrNull, show } from '../model/validators.ts';
import type { FloatingIpRow, PortRow } from '../store/schema/index.ts';
import { bool, newId, recordChange, standardFields, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import type { FixedIp, FixedIpRequest } from './ipam.ts';
import { badFip, currentAssociation, NO_ASSOCIATION, requestedAssociation, sameAssociation } from './floatingip-association.ts';
import { getVisibleNetwork } from './networks.ts';
import { createPort, deletePort } from './ports.ts';
import { enforceQuota } from './quotas.ts';
import { systemContext } from './router-common.ts';
import { FLOATINGIP_OWNER } from '../model/neutron.ts';
import { tagAttributes, tagFiltersInSql } from './tags.ts';
import { nullableTextFilter, sqlListing, textColumn, unnamedStandardColumns, type ListTable } from './list-sql.ts';
import { checkFloatingIpFree, forwardingsByFloatingIp } from './port-forwarding-store.ts';
import { noteFloatingIpPort } from './port-events.ts';

export const FLOATINGIP_STATUSES = ['ACTIVE', 'DOWN', 'ERROR'];

export const floatingIpNotFound = (id: string) => notFound('FloatingIPNotFound', `Floating IP ${id} could not be found`);

export const floatingIpSpec: ResourceSpec = {
  singular: 'floatingip',
  plural: 'floatingips',
  attributes: {
    id: { filter: true, sort: true },
    floating_ip_address: { post: true, validate: isIpOrNull, adminSet: true, filter: true, sort: true },
    subnet_id: { post: true, validate: isUuidOrNull, filter: false },
    floating_network_id: { post: true, required: true, validate: isUuid, filter: true, sort: true },
    router_id: { filter: true, sort: true },
    port_id: { post: true, put: true, default: null, validate: isUuidOrNull, filter: true, sort: true },
    fixed_ip_address: { post: true, put: true, validate: isIpOrNull, filter: true, sort: true },
    status: { filter: true, sort: true },
    description: { post: true, put: true, default: '', validate: isString(255), filter: true },
    port_details: { filter: false },
    port_forwardings: { filter: false },
    ...standardAttributes,
    ...tagAttributes(),
  },
};

/** fip-port-details: a summary of the associated port, or null. */
function portDetails(port: PortRow | undefined): Item | null {
  if (!port) return null;
  return {
    name: port.name,
    network_id: port.network_id,
    mac_address: port.mac_address,
    admin_state_up: bool(port.admin_state_up),
    status: port.status,
    device_id: port.device_id,
    device_owner: port.device_owner,
  };
}

export function floatingIpToApi(row: FloatingIpRow, port: PortRow | undefined, forwardings: Item[] = []): Item {
  return {
    id: row.id,
    floating_ip_address: row.floating_ip_address,
    floating_network_id: row.floating_network_id,
    router_id: row.router_id,
    port_id: row.fixed_port_id,
    fixed_ip_address: row.fixed_ip_address,
    status: row.status,
    port_details: portDetails(port),
    port_forwardings: forwardings,
    ...standardFields(row),
  };
}

async function floatingIpsToApi(tx: Tx, rows: FloatingIpRow[]): Promise<Item[]> {
  const portIds = [...new Set(rows.map((r) => r.fixed_port_id).filter((x): x is string => !!x))];
  const ports = portIds.length ? await tx.selectFrom('ports').selectAll().where('id', 'in', portIds).execute() : [];
  const byId = new Map(ports.map((p) => [p.id, p]));
  const forwardings = await forwardingsByFloatingIp(
    tx,
    rows.map((r) => r.id),
  );
  return rows.map((r) => floatingIpToApi(r, r.fixed_port_id ? byId.get(r.fixed_port_id) : undefined, forwardings.get(r.id)));
}

/** A floating IP of the caller's project (any for admins), or FloatingIPNotFound. */
export async function getVisibleFloatingIp(tx: Tx, ctx: AuthContext, id: string): Promise<FloatingIpRow> {
  const row = await tx.selectFrom('floatingips').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(ctx.isAdmin || row.project_id === ctx.projectId)) throw floatingIpNotFound(id);
  return row;
}

/** The routers whose NAT rules change when a floating IP moves: the L3 agent watches router changes. */
async function notifyRouters(tx: Tx, ...routerIds: Array<string | null>): Promise<void> {
  for (const id of new Set(routerIds.filter((x): x is string => !!x))) {
    const r = await tx.selectFrom('routers').select('project_id').where('id', '=', id).executeTakeFirst();
    if (r) await recordChange(tx, 'router', id, 'update', r.project_id);
  }
}

/** update_floatingip_status: what the L3 agent reports once the NAT rules are (or are no longer) in place. */
export async function setFloatingIpStatus(tx: Tx, id: string, status: string): Promise<boolean> {
  if (!FLOATINGIP_STATUSES.includes(status)) {
    throw new NeutronError(
      400,
      'HTTPBadRequest',
      `Invalid input for status. Reason: '${show(status)}' is not in ${JSON.stringify(FLOATINGIP_STATUSES).replace(/"/g, "'")}.`,
    );
  }
  const row = await tx.selectFrom('floatingips').select(['status', 'project_id']).where('id', '=', id).executeTakeFirst();
  if (!row || row.status === status) return false;
  await tx.updateTable('floatingips').set({ status, updated_at: timestamp() }).where('id', '=', id).execute();
  await recordChange(tx, 'floatingip', id, 'status', row.project_id);
  return true;
}

/** The floating IPs table as lists filter and sort it: the columns that hold no NULL sort and page in SQL. */
const floatingIpTable: ListTable = {
  table: 'floatingips',
  columns: {
    ...unnamedStandardColumns,
    floating_network_id: textColumn('floating_network_id'),
    floating_ip_address: textColumn('floating_ip_address'),
    status: textColumn('status'),
  },
  filters: {
    port_id: nullableTextFilter('floatingips', 'fixed_port_id'),
    fixed_ip_address: nullableTextFilter('floatingips', 'fixed_ip_address'),
    router_id: nullableTextFilter('floatingips', 'router_id'),
    ...tagFiltersInSql('floatingips'),
  },
};

/** The floating IPs the caller sees: its project's, or every one for admins. */
function visibleFloatingIps(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('floatingips').selectAll('floatingips');
  return ctx.isAdmin ? q : q.where('floatingips.project_id', '=', ctx.projectId);
}

/** A floating IP comes from an external network the caller can see that has an IPv4 subnet. */
async function checkFloatingNetwork(tx: Tx, ctx: AuthContext, networkId: string): Promise<void> {
  const network = await getVisibleNetwork(tx, ctx, networkId);
  if (!network.router_external) throw badFip(`Network ${networkId} is not a valid external network`);
  const v4 = await tx.selectFrom('subnets').select('id').where('network_id', '=', networkId).where('ip_version', '=', 4).executeTakeFirst();
  if (!v4) throw badFip(`Network ${networkId} does not contain any IPv4 subnet`);
}

/** The floating IP's own port, which allocates its address: hidden (no project), never bound, status N/A. */
async function createFloatingIpPort(tx: Tx, id: string, networkId: string, a: Item): Promise<{ portId: string; address: string }> {
  const fixed: FixedIpRequest = {};
  if (a.subnet_id) fixed.subnet_id = a.subnet_id as string;
  if (a.floating_ip_address) fixed.ip_address = a.floating_ip_address as string;
  const port = await createPort(
    tx,
    systemContext,
    {
      project_id: '',
      network_id: networkId,
      admin_state_up: true,
      device_id: id,
      device_owner: FLOATINGIP_OWNER,
      name: '',
      fixed_ips: Object.keys(fixed).length ? [fixed] : undefined,
    },
    { system: true },
  );
  const address = (port.fixed_ips as FixedIp[]).find((f) => parseIp(f.ip_address)?.version === 4);
  if (!address)
    throw new NeutronError(400, 'ExternalIpAddressExhausted', `Unable to find any IP address on external network ${networkId}.`);
  return { portId: port.id as string, address: address.ip_address };
}

function newFloatingIpRow(id: string, a: Item, port: { portId: string; address: string }): FloatingIpRow {
  const now = timestamp();
  return {
    id,
    project_id: a.project_id as string,
    description: (a.description as string) ?? '',
    floating_network_id: a.floating_network_id as string,
    floating_ip_address: port.address,
    floating_port_id: port.portId,
    ...NO_ASSOCIATION,
    status: 'DOWN',
    revision_number: 0,
    created_at: now,
    updated_at: now,
  };
}

function rejectFixedIpWithoutPort(a: Item): void {
  if (a.fixed_ip_address && !a.port_id) throw badFip('fixed_ip_address cannot be specified without a port_id');
}

export function floatingIpService(): ResourceService {
  return {
    spec: floatingIpSpec,

    ...sqlListing(floatingIpTable, visibleFloatingIps, floatingIpsToApi, floatingIpNotFound),

    async show(tx, ctx, id) {
      return (await floatingIpsToApi(tx, [await getVisibleFloatingIp(tx, ctx, id)]))[0];
    },

    async create(tx, ctx, a) {
      await enforceQuota(tx, a.project_id as string, 'floatingip');
      await checkFloatingNetwork(tx, ctx, a.floating_network_id as string);
      const id = newId();
      // Writes (the hidden port) start here, before the association is checked: a failure below
      // rolls them back with the transaction.
      const row = newFloatingIpRow(id, a, await createFloatingIpPort(tx, id, a.floating_network_id as string, a));
      rejectFixedIpWithoutPort(a);
      if (a.port_id) Object.assign(row, await requestedAssociation(tx, ctx, row, a));
      await tx.insertInto('floatingips').values(row).execute();
      await recordChange(tx, 'floatingip', id, 'create', row.project_id);
      await notifyRouters(tx, row.router_id);
      if (row.fixed_port_id) await noteFloatingIpPort(tx, row.fixed_port_id);
      return (await floatingIpsToApi(tx, [row]))[0];
    },

    async update(tx, ctx, id, a) {
      const row = await getVisibleFloatingIp(tx, ctx, id);
      rejectFixedIpWithoutPort(a);
      if (a.port_id) await checkFloatingIpFree(tx, id);
      const was = currentAssociation(row);
      // A floating IP serving port forwardings keeps their router when "disassociated".
      const forwarded = !row.fixed_port_id && row.router_id !== null;
      const assoc = 'port_id' in a && !forwarded ? await requestedAssociation(tx, ctx, row, a) : was;
      // The writes: the row, its change-feed entry, and the routers whose NAT changes.
      await tx
        .updateTable('floatingips')
        .set({
          ...assoc,
          description: (a.description as string) ?? row.description,
          revision_number: row.revision_number + 1,
          updated_at: timestamp(),
        })
        .where('id', '=', id)
        .execute();
      await recordChange(tx, 'floatingip', id, 'update', row.project_id);
      if (!sameAssociation(assoc, was)) await notifyRouters(tx, row.router_id, assoc.router_id);
      await noteFloatingIpUpdate(tx, was.fixed_port_id, assoc.fixed_port_id);
      return this.show(tx, ctx, id);
    },

    async remove(tx, ctx, id) {
      const row = await getVisibleFloatingIp(tx, ctx, id);
      await checkFloatingIpFree(tx, id);
      await tx.deleteFrom('floatingips').where('id', '=', id).execute();
      const port = await tx.selectFrom('ports').select('id').where('id', '=', row.floating_port_id).executeTakeFirst();
      if (port) await deletePort(tx, systemContext, port.id, true);
      await recordChange(tx, 'floatingip', id, 'delete', row.project_id);
      await notifyRouters(tx, row.router_id);
      if (row.fixed_port_id) await noteFloatingIpPort(tx, row.fixed_port_id);
    },
  };
}

/**
 * The ports Nova hears network-changed for after a floating IP update, as Neutron's notifier picks
 * them: the port it had, when it has one now as well (even the same one: Neutron then sends the
 * event twice), and the port it has now or else the one it had.
 */
async function noteFloatingIpUpdate(tx: Tx, had: string | null, has: string | null): Promise<void> {
  if (had && has) await noteFloatingIpPort(tx, had);
  const port = has ?? had;
  if (port) await noteFloatingIpPort(tx, port);
}
