// A Networking API port (standard Neutron attributes) as the HostView's PortView. One reading for
// the server, which builds each node's host view from its own API objects, and for the tracer,
// which rebuilds that view from any Neutron cloud's: the agent's planner gets the same port from
// both. Attributes a cloud may leave out (extensions it does not load) take Neutron's defaults;
// the server's objects always have them. Pure.
import type { FixedIpView, PortView } from './hostview.ts';

type ApiFields = Record<string, unknown>;

/** Byte order, as SQLite compares TEXT (not locale order). */
export const cmpText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A text attribute; `fallback` when absent or not text. */
export const attr = (o: ApiFields, key: string, fallback = ''): string => (typeof o[key] === 'string' ? (o[key] as string) : fallback);
/** A boolean attribute; `fallback` when absent. */
export const attrFlag = (o: ApiFields, key: string, fallback: boolean): boolean =>
  typeof o[key] === 'boolean' ? (o[key] as boolean) : fallback;
/** A list attribute; empty when absent. */
export const attrList = <T>(o: ApiFields, key: string): T[] => (Array.isArray(o[key]) ? (o[key] as T[]) : []);

export const fixedIpsOf = (port: ApiFields): FixedIpView[] =>
  attrList<FixedIpView>(port, 'fixed_ips').map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address }));

/** binding:host_id ('' when unbound, or when the caller may not read it). */
export const hostOf = (port: ApiFields): string => attr(port, 'binding:host_id');

export function portView(p: ApiFields): PortView {
  return {
    id: attr(p, 'id'),
    network_id: attr(p, 'network_id'),
    mac_address: attr(p, 'mac_address'),
    fixed_ips: fixedIpsOf(p),
    device_owner: attr(p, 'device_owner'),
    device_id: attr(p, 'device_id'),
    admin_state_up: attrFlag(p, 'admin_state_up', true),
    // port-security extension absent: Neutron filters every port
    port_security_enabled: attrFlag(p, 'port_security_enabled', true),
    // the server reads a port's groups through its (port, group) key: by group id
    security_groups: [...attrList<string>(p, 'security_groups')].sort(cmpText),
    allowed_address_pairs: attrList<{ ip_address: string; mac_address: string }>(p, 'allowed_address_pairs').map((a) => ({
      ip_address: a.ip_address,
      mac_address: a.mac_address,
    })),
    // extra_dhcp_opt absent: none
    extra_dhcp_opts: attrList<{ opt_name: string; opt_value: string; ip_version: number }>(p, 'extra_dhcp_opts').map((o) => ({
      opt_name: String(o.opt_name),
      opt_value: String(o.opt_value),
      ip_version: Number(o.ip_version ?? 4),
    })),
    binding_host_id: hostOf(p),
  };
}
