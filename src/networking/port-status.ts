// Port status reported by the agent of the host a port is bound to (ACTIVE when plugged, DOWN when gone).
import { badRequest } from '../model/errors.ts';
import { show } from '../model/validators.ts';
import { recordChange, timestamp, type Tx } from './common.ts';
import { notePortStatus } from './port-events.ts';

const STATUSES = ['ACTIVE', 'DOWN', 'BUILD', 'ERROR'];

/** Body {"ports": {"<port id>": "ACTIVE"|"DOWN"|…}}; only ports bound to `host` change. Returns the ids changed. */
export async function setPortStatus(tx: Tx, host: string, body: unknown): Promise<string[]> {
  const ports = (body as { ports?: unknown } | undefined)?.ports;
  if (!ports || typeof ports !== 'object' || Array.isArray(ports)) throw badRequest("Unable to find 'ports' in request body");
  const changed: string[] = [];
  for (const [id, status] of Object.entries(ports as Record<string, unknown>)) {
    if (typeof status !== 'string' || !STATUSES.includes(status)) {
      throw badRequest(`Invalid input for status. Reason: '${show(status)}' is not in ${JSON.stringify(STATUSES)}.`);
    }
    const row = await tx
      .selectFrom('ports')
      .select(['status', 'project_id', 'device_id', 'device_owner'])
      .where('id', '=', id)
      .where('binding_host_id', '=', host)
      .executeTakeFirst();
    if (!row || row.status === status) continue;
    await tx.updateTable('ports').set({ status, updated_at: timestamp() }).where('id', '=', id).execute();
    // op 'status': watchers that only shape the kernel can skip it.
    await recordChange(tx, 'port', id, 'status', row.project_id);
    notePortStatus(tx, { id, device_id: row.device_id, device_owner: row.device_owner }, row.status, status);
    changed.push(id);
  }
  return changed;
}
