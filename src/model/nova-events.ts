// Which port changes Nova hears of, and as what (Neutron's neutron/notifiers/nova.py): only ports of
// instances (device_owner compute:*, a UUID device_id). A port becoming ACTIVE or ERROR from DOWN or
// BUILD (or from nothing) is network-vif-plugged, ACTIVE to DOWN is network-vif-unplugged, a deleted
// port network-vif-deleted; every other transition is of no interest to Nova. An API update of the
// port, and a floating IP associated with it or taken from it, is network-changed: Nova then
// refreshes what it caches of the instance's network.

/** One event of POST /v2.1/os-server-external-events. */
export interface NovaEvent {
  name: 'network-changed' | 'network-vif-plugged' | 'network-vif-unplugged' | 'network-vif-deleted';
  server_uuid: string;
  /** The port's id. */
  tag: string;
  /** Absent on network-vif-deleted and network-changed, as Neutron sends them. */
  status?: 'completed' | 'failed';
}

export interface InstancePort {
  id: string;
  device_id: string;
  device_owner: string;
}

/** Neutron's port status → the event's status (NEUTRON_NOVA_EVENT_STATUS_MAP). */
const EVENT_STATUS: Record<string, NovaEvent['status']> = { ACTIVE: 'completed', ERROR: 'failed', DOWN: 'completed' };

const UUID_LIKE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** An instance's port: Nova knows its device_id. */
export const isComputePort = (p: InstancePort): boolean =>
  p.device_owner.startsWith('compute:') && UUID_LIKE.test(p.device_id.replace(/^\{|\}$/g, ''));

/** The event for a status change, or null when Nova does not care. `previous` is null for a new port. */
export function portStatusEvent(port: InstancePort, previous: string | null, current: string): NovaEvent | null {
  if (!isComputePort(port)) return null;
  let name: NovaEvent['name'];
  if (previous === 'ACTIVE' && current === 'DOWN') name = 'network-vif-unplugged';
  else if ((previous === null || previous === 'DOWN' || previous === 'BUILD') && (current === 'ACTIVE' || current === 'ERROR'))
    name = 'network-vif-plugged';
  else return null;
  return { server_uuid: port.device_id, name, status: EVENT_STATUS[current], tag: port.id };
}

/** The event for a deleted port, or null when it was not an instance's. */
export function portDeletedEvent(port: InstancePort): NovaEvent | null {
  return isComputePort(port) ? { server_uuid: port.device_id, name: 'network-vif-deleted', tag: port.id } : null;
}

/** The event for a change of the port's network facts (addresses, floating IPs), or null when it is not an instance's. */
export function networkChangedEvent(port: InstancePort): NovaEvent | null {
  return isComputePort(port) ? { name: 'network-changed', server_uuid: port.device_id, tag: port.id } : null;
}
