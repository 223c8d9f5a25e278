// Facts about ports that other services follow (Nova's port events): a port's status changed, its
// network facts changed (an API update, a floating IP associated or disassociated), it was deleted. Announced only once the unit of work that made them has committed, in the process
// that committed it, so each is heard exactly once however many server processes share the database.
import { onCommitted, publishAfterCommit, type Reader } from '../store/unit-of-work.ts';
import type { Tx } from './common.ts';

/** What a port fact says about the port: enough for Nova to find the instance. */
export interface PortRef {
  id: string;
  device_id: string;
  device_owner: string;
}

export type PortFact =
  | { kind: 'status'; port: PortRef; previous: string; current: string }
  | { kind: 'changed'; port: PortRef }
  | { kind: 'deleted'; port: PortRef };

const PORT_FACT = Symbol('port fact');
type Tagged = PortFact & { [PORT_FACT]: true };
const isPortFact = (f: unknown): f is Tagged => typeof f === 'object' && f !== null && PORT_FACT in f;

const ref = (p: PortRef): PortRef => ({ id: p.id, device_id: p.device_id, device_owner: p.device_owner });

/** Called inside the unit of work that changes the port's status from `previous` to `current`. */
export function notePortStatus(tx: Tx, port: PortRef, previous: string, current: string): void {
  if (previous !== current) publishAfterCommit(tx, { kind: 'status', port: ref(port), previous, current, [PORT_FACT]: true });
}

/** Called inside the unit of work that updates the port through the API. */
export function notePortChanged(tx: Tx, port: PortRef): void {
  publishAfterCommit(tx, { kind: 'changed', port: ref(port), [PORT_FACT]: true });
}

/**
 * Called inside the unit of work that associates a floating IP with port `id` or takes it away: the
 * port as it is then (none if it is gone, as Neutron reads it after the change).
 */
export async function noteFloatingIpPort(tx: Tx, id: string): Promise<void> {
  const port = await tx.selectFrom('ports').select(['id', 'device_id', 'device_owner']).where('id', '=', id).executeTakeFirst();
  if (port) notePortChanged(tx, port);
}

/** Called inside the unit of work that deletes the port. */
export function notePortDeleted(tx: Tx, port: PortRef): void {
  publishAfterCommit(tx, { kind: 'deleted', port: ref(port), [PORT_FACT]: true });
}

/** Calls `listener` with the port facts of each unit of work this process commits on `db`. */
export function onPortFacts(db: Reader, listener: (facts: PortFact[]) => void): () => void {
  return onCommitted(db, (facts) => {
    const ports = facts.filter(isPortFact);
    if (ports.length) listener(ports);
  });
}
