// Port bindings (binding-extended), as ML2's create_port_binding / get_port_bindings / activate /
// delete_port_binding: what Nova uses to live-migrate an instance. The ACTIVE binding is the port's
// own binding:* attributes (what the host views and agents follow); the INACTIVE ones, prepared on
// the destination host, live in port_bindings until one is activated.
import type { ResourceSpec } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, conflict, notFound, policyDenied } from '../model/errors.ts';
import { COMPUTE_OWNER_PREFIX } from '../model/neutron.ts';
import { isDict, isOneOf, isString } from '../model/validators.ts';
import type { PortBindingRow, PortRow } from '../store/schema/index.ts';
import { parseJson, recordChange, timestamp, type Item, type Tx } from './common.ts';
import { binding, getVisiblePort, VNIC_TYPES } from './ports.ts';

/** DEVICE_OWNER_MANILA_PREFIX: a shared file system's port, the other kind that may have several bindings. */
const MANILA_OWNER_PREFIX = 'manila:';

export const portBindingSpec: ResourceSpec = {
  singular: 'binding',
  plural: 'bindings',
  attributes: {
    host: { post: true, required: true, validate: isString(255) },
    vnic_type: { post: true, default: 'normal', validate: isOneOf(VNIC_TYPES) },
    // type:dict_or_none; None is no profile.
    profile: { post: true, validate: (v) => (v === null ? undefined : isDict(v)), filter: false },
    vif_type: {},
    vif_details: { filter: false },
    status: {},
  },
};

interface Binding {
  host: string;
  vif_type: string;
  vnic_type: string;
  status: 'ACTIVE' | 'INACTIVE';
  profile: Record<string, unknown>;
  vif_details: Record<string, unknown>;
}

function activeBinding(port: PortRow): Binding {
  return {
    host: port.binding_host_id,
    vif_type: port.binding_vif_type,
    vnic_type: port.binding_vnic_type,
    status: 'ACTIVE',
    profile: parseJson(port.binding_profile),
    vif_details: parseJson(port.binding_vif_details),
  };
}

function inactiveBinding(row: PortBindingRow): Binding {
  return {
    host: row.host,
    vif_type: row.vif_type,
    vnic_type: row.vnic_type,
    status: 'INACTIVE',
    profile: parseJson(row.profile),
    vif_details: parseJson(row.vif_details),
  };
}

const bindingNotFound = (portId: string, host: string) =>
  notFound('PortBindingNotFound', `Binding for port ${portId} for host ${host} could not be found.`);

/**
 * The host's binding of the port, for an admin: pecan first fetches it (PortBindingNotFound), then
 * answers a caller whom policy does not let see it as if it did not exist.
 */
async function adminsBinding(tx: Tx, ctx: AuthContext, port: PortRow, host: string): Promise<Binding> {
  const found = (await allBindings(tx, port)).find((b) => b.host === host);
  if (!found) throw bindingNotFound(port.id, host);
  if (!ctx.isAdmin) throw notFound('HTTPNotFound', 'The resource could not be found.');
  return found;
}

/**
 * The port, which the caller must see (PortNotFound) and which must be an instance's or a shared file
 * system's (_validate_port_supports_multiple_bindings).
 */
async function bindablePort(tx: Tx, ctx: AuthContext, portId: string): Promise<PortRow> {
  const { port } = await getVisiblePort(tx, ctx, portId);
  if (!port.device_owner.startsWith(COMPUTE_OWNER_PREFIX) && !port.device_owner.startsWith(MANILA_OWNER_PREFIX)) {
    throw badRequest(`Invalid port ${portId}. Operation only valid on compute and shared filesystem ports`, 'BadRequest');
  }
  return port;
}

async function inactiveRows(tx: Tx, portId: string, host?: string): Promise<PortBindingRow[]> {
  let q = tx.selectFrom('port_bindings').selectAll().where('port_id', '=', portId);
  if (host !== undefined) q = q.where('host', '=', host);
  return q.orderBy('host').execute();
}

/** Every binding of the port, the active one first. */
async function allBindings(tx: Tx, port: PortRow): Promise<Binding[]> {
  return [activeBinding(port), ...(await inactiveRows(tx, port.id)).map(inactiveBinding)];
}

/** GET /ports/{id}/bindings: filtered by host, vif_type, vnic_type, status; a non-admin sees none. */
export async function listPortBindings(tx: Tx, ctx: AuthContext, portId: string, filters: Map<string, unknown[]>): Promise<Item[]> {
  const port = await bindablePort(tx, ctx, portId);
  if (!ctx.isAdmin) return [];
  const bindings = (await allBindings(tx, port)) as unknown as Item[];
  return bindings.filter((b) => [...filters].every(([key, wanted]) => wanted.includes(b[key])));
}

/** GET /ports/{id}/bindings/{host}. */
export async function showPortBinding(tx: Tx, ctx: AuthContext, portId: string, host: string): Promise<Item> {
  const port = await bindablePort(tx, ctx, portId);
  return (await adminsBinding(tx, ctx, port, host)) as unknown as Item;
}

/** POST /ports/{id}/bindings: an INACTIVE binding on another host (the port always has an active one). */
export async function createPortBinding(tx: Tx, ctx: AuthContext, portId: string, attrs: Item): Promise<Item> {
  if (!ctx.isAdmin) throw policyDenied('rule:create_port_binding');
  const port = await bindablePort(tx, ctx, portId);
  const host = attrs.host as string;
  if ((await allBindings(tx, port)).some((b) => b.host === host)) {
    throw conflict('PortBindingAlreadyExists', `Binding for port ${portId} on host ${host} already exists.`);
  }
  const vif = binding(host);
  const row: PortBindingRow = {
    port_id: portId,
    host,
    vnic_type: attrs.vnic_type as string,
    vif_type: vif.binding_vif_type,
    vif_details: vif.binding_vif_details,
    profile: JSON.stringify(attrs.profile ?? {}),
  };
  await tx.insertInto('port_bindings').values(row).execute();
  return inactiveBinding(row) as unknown as Item;
}

/**
 * PUT /ports/{id}/bindings/{host}/activate: the host's INACTIVE binding becomes the port's binding
 * (binding:host_id moves, so does the port's wiring) and the active one becomes INACTIVE; the port
 * goes DOWN until the new host's agent wires it.
 */
export async function activatePortBinding(tx: Tx, ctx: AuthContext, portId: string, host: string): Promise<Item> {
  const port = await bindablePort(tx, ctx, portId);
  await adminsBinding(tx, ctx, port, host);
  if (host === port.binding_host_id) {
    throw conflict('PortBindingAlreadyActive', `Binding for port ${portId} on host ${host} is already active.`);
  }
  const [target] = await inactiveRows(tx, portId, host);
  if (!target) throw bindingNotFound(portId, host);
  await tx.deleteFrom('port_bindings').where('port_id', '=', portId).where('host', '=', host).execute();
  await tx
    .insertInto('port_bindings')
    .values({
      port_id: portId,
      host: port.binding_host_id,
      vnic_type: port.binding_vnic_type,
      vif_type: port.binding_vif_type,
      vif_details: port.binding_vif_details,
      profile: port.binding_profile,
    })
    .execute();
  await setActiveBinding(tx, port, {
    binding_host_id: target.host,
    binding_vnic_type: target.vnic_type,
    binding_vif_type: target.vif_type,
    binding_vif_details: target.vif_details,
    binding_profile: target.profile,
  });
  return { ...inactiveBinding(target), status: 'ACTIVE' };
}

/**
 * DELETE /ports/{id}/bindings/{host}. Neutron deletes whichever binding the host has; the active one
 * gone, the port is left unbound (no host, vif_type unbound).
 */
export async function deletePortBinding(tx: Tx, ctx: AuthContext, portId: string, host: string): Promise<void> {
  const port = await bindablePort(tx, ctx, portId);
  await adminsBinding(tx, ctx, port, host);
  if (host !== port.binding_host_id) {
    await tx.deleteFrom('port_bindings').where('port_id', '=', portId).where('host', '=', host).execute();
    return;
  }
  await setActiveBinding(tx, port, { binding_host_id: '', binding_profile: '{}', ...binding('') });
}

/** The port's active binding replaced: DOWN until an agent reports it wired, a new revision. */
async function setActiveBinding(tx: Tx, port: PortRow, values: Partial<PortRow>): Promise<void> {
  await tx
    .updateTable('ports')
    .set({ ...values, status: 'DOWN', revision_number: port.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', port.id)
    .execute();
  await recordChange(tx, 'port', port.id, 'update', port.project_id);
}
