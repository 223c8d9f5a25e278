// A floating IP's port forwardings as the tracer reads them. The floating IP's own
// `port_forwardings` (floating-ip-port-forwarding-detail) shows a side's port only when it is a
// single port; a side that is a range is read from the forwarding itself (`external_port_range`,
// `internal_port_range` of GET /v2.0/floatingips/{id}/port_forwardings, collected for the floating
// IPs that list one). Pure.
import type { PortForwardingView } from '../../model/hostview.ts';
import { attr, attrList } from '../../model/port-view.ts';
import type { ApiObject, ApiResources } from '../snapshot.ts';

/** A forwarding of a floating IP, its sides as ranges (start = end for a single port), and the port it forwards to. */
export type ForwardingOfFip = PortForwardingView & { internal_port_id: string };

/** `4021:4023` (or a single `22`) as [start, end]; null when it is not one. */
export function parsePortRange(v: unknown): [number, number] | null {
  const m = typeof v === 'string' ? /^(\d+)(?::(\d+))?$/.exec(v) : null;
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  return start <= end ? [start, end] : null;
}

/** One side: its single port as the floating IP shows it, else its range as the forwarding shows it. */
function side(entry: Record<string, unknown>, full: ApiObject | undefined, which: 'external' | 'internal'): [number, number] | null {
  const port = entry[`${which}_port`];
  if (typeof port === 'number') return [port, port];
  return parsePortRange(full?.[`${which}_port_range`]);
}

/** The floating IP's forwardings, in its list's order; one whose ports cannot be read is left out. */
export function floatingIpForwardings(api: ApiResources, fip: ApiObject): ForwardingOfFip[] {
  const full = api.port_forwardings?.[fip.id] ?? [];
  return attrList<Record<string, unknown>>(fip, 'port_forwardings').flatMap((p) => {
    const id = String(p['id']);
    const detail = full.find((f) => f.id === id);
    const external = side(p, detail, 'external');
    const internal = side(p, detail, 'internal');
    if (!external || !internal) return [];
    return [
      {
        id,
        floatingip_id: fip.id,
        floating_ip_address: attr(fip, 'floating_ip_address'),
        protocol: String(p['protocol']),
        external_port: external[0],
        external_port_end: external[1],
        internal_ip_address: String(p['internal_ip_address']),
        internal_port: internal[0],
        internal_port_end: internal[1],
        internal_port_id: String(p['internal_port_id']),
      },
    ];
  });
}

/**
 * The internal port a connection to external `port` reaches (extract_ports' mapping: N:N ranges
 * offset from their starts, N:1 to the one port), or null when the external range does not hold it.
 */
export function internalPortOf(f: PortForwardingView, port: number): number | null {
  if (port < f.external_port || port > f.external_port_end) return null;
  return f.internal_port === f.internal_port_end ? f.internal_port : f.internal_port + (port - f.external_port);
}

/** A side as the API writes a range: `4021:4023`, or the port alone. */
export const portsText = (start: number, end: number): string => (start === end ? String(start) : `${start}:${end}`);
