// Port forwardings as other resources see them: a floating IP's list, the guard on a floating IP
// that forwardings use, and their removal with their port; the floating IP's router follows them.
import { conflict } from '../model/errors.ts';
import type { FloatingIpRow, PortForwardingRow } from '../store/schema/index.ts';
import { recordChange, timestamp, type Item, type Tx } from './common.ts';

/** A side's single port, null when it is a range (Neutron shows the port only when start = end). */
const singlePort = (start: number, end: number) => (start === end ? start : null);

export function portForwardingToApi(row: PortForwardingRow): Item {
  return {
    id: row.id,
    external_port: singlePort(row.external_port, row.external_port_end),
    internal_port: singlePort(row.internal_port, row.internal_port_end),
    internal_ip_address: row.internal_ip_address,
    protocol: row.protocol,
    internal_port_id: row.internal_port_id,
    description: row.description,
    external_port_range: `${row.external_port}:${row.external_port_end}`,
    internal_port_range: `${row.internal_port}:${row.internal_port_end}`,
  };
}

/** A forwarding in its floating IP's `port_forwardings` (_extend_floatingip_dict): a side that is a range has no port there. */
function forwardingInFloatingIp(row: PortForwardingRow): Item {
  return {
    id: row.id,
    ...(row.external_port === row.external_port_end ? { external_port: row.external_port } : {}),
    ...(row.internal_port === row.internal_port_end ? { internal_port: row.internal_port } : {}),
    internal_ip_address: row.internal_ip_address,
    protocol: row.protocol,
    internal_port_id: row.internal_port_id,
  };
}

/** _extend_floatingip_dict: the forwardings a floating IP shows (expose-port-forwarding-in-fip, -detail). */
export async function forwardingsByFloatingIp(tx: Tx, fipIds: string[]): Promise<Map<string, Item[]>> {
  const rows = fipIds.length
    ? await tx.selectFrom('port_forwardings').selectAll().where('floatingip_id', 'in', fipIds).orderBy('created_at').orderBy('id').execute()
    : [];
  const out = new Map<string, Item[]>();
  for (const r of rows) {
    const list = out.get(r.floatingip_id) ?? [];
    list.push(forwardingInFloatingIp(r));
    out.set(r.floatingip_id, list);
  }
  return out;
}

/** FipInUseByPortForwarding: a floating IP with forwardings is neither associated to a port nor deleted. */
export async function checkFloatingIpFree(tx: Tx, fipId: string): Promise<void> {
  const any = await tx.selectFrom('port_forwardings').select('id').where('floatingip_id', '=', fipId).executeTakeFirst();
  if (any) throw conflict('FipInUseByPortForwarding', `Floating IP ${fipId} in use by Port Forwarding resources.`);
}

export async function notifyRouter(tx: Tx, routerId: string | null): Promise<void> {
  if (!routerId) return;
  const r = await tx.selectFrom('routers').select('project_id').where('id', '=', routerId).executeTakeFirst();
  if (r) await recordChange(tx, 'router', routerId, 'update', r.project_id);
}

/** The floating IP's router follows its forwardings: set by the first, cleared with the last. */
export async function setFloatingIpRouter(tx: Tx, fip: FloatingIpRow, routerId: string | null): Promise<void> {
  if (fip.router_id === routerId) return;
  await tx
    .updateTable('floatingips')
    .set({ router_id: routerId, fixed_port_id: null, revision_number: fip.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', fip.id)
    .execute();
  await recordChange(tx, 'floatingip', fip.id, 'update', fip.project_id);
}

/** Removes forwardings; a floating IP left without any loses its router (delete_floatingip_port_forwarding). */
export async function removeForwardings(tx: Tx, rows: PortForwardingRow[]): Promise<void> {
  for (const row of rows) {
    await tx.deleteFrom('port_forwardings').where('id', '=', row.id).execute();
    const fip = await tx.selectFrom('floatingips').selectAll().where('id', '=', row.floatingip_id).executeTakeFirst();
    if (!fip) continue;
    await notifyRouter(tx, fip.router_id);
    const left = await tx.selectFrom('port_forwardings').select('id').where('floatingip_id', '=', fip.id).executeTakeFirst();
    if (!left) await setFloatingIpRouter(tx, fip, null);
  }
}

/** _process_port_request: a deleted internal port takes its forwardings along; a port giving up addresses, those to them. */
export async function deletePortForwardingsOfPort(tx: Tx, portId: string, addresses?: string[]): Promise<void> {
  if (addresses && !addresses.length) return;
  let q = tx.selectFrom('port_forwardings').selectAll().where('internal_port_id', '=', portId);
  if (addresses) q = q.where('internal_ip_address', 'in', addresses);
  await removeForwardings(tx, await q.execute());
}
