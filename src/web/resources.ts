// The Networking API's resources, each with the devices of the picture that realise it: a network its
// brq- bridge and vxlan- device on every node and its qdhcp- namespace's ns- device; a port its tap,
// qr-, qg- or ns- device; a router its qrouter- namespace's devices; a floating IP its router's qg-
// device and its port's tap; a security group the taps of its ports. Pure.
import { bridgeName, nsName, qgName, qrName, routerNamespace, tapName, vxlanName } from '../kernel/names.ts';
import { COMPUTE_OWNER_PREFIX, DHCP_OWNER, ROUTER_GW_OWNER, ROUTER_INTERFACE_OWNERS } from '../model/neutron.ts';
import type { ApiObject, ApiResources } from '../trace/snapshot.ts';
import type { Topology } from './topology.ts';

export type ResourceType = 'network' | 'subnet' | 'router' | 'port' | 'floatingip' | 'security_group';

export interface LinkedResource {
  type: ResourceType;
  id: string;
  /** name, or the floating IP address */
  label: string;
  /** ids of the picture's devices that realise it (topology.ts deviceId) */
  devices: string[];
  /** the resource as the API returns it */
  attributes: ApiObject;
}

export interface Resources {
  resources: LinkedResource[];
}

const s = (o: ApiObject | undefined, k: string) => (o && typeof o[k] === 'string' ? (o[k] as string) : '');

/** The device name a port is realised by, from its owner. */
export function portDeviceName(port: ApiObject): string {
  const owner = s(port, 'device_owner');
  if (ROUTER_INTERFACE_OWNERS.includes(owner)) return qrName(port.id);
  if (owner === ROUTER_GW_OWNER) return qgName(port.id);
  if (owner === DHCP_OWNER) return nsName(port.id);
  return tapName(port.id);
}

export function buildResources(api: ApiResources, topo: Topology): Resources {
  const byName = new Map<string, string[]>();
  const byNamespace = new Map<string, string[]>();
  for (const n of topo.nodes)
    for (const ns of n.namespaces) {
      byNamespace.set(ns.name, [...(byNamespace.get(ns.name) ?? []), ...ns.devices.map((d) => d.id)]);
      for (const d of ns.devices) byName.set(d.name, [...(byName.get(d.name) ?? []), d.id]);
    }
  const named = (...names: string[]) => names.flatMap((n) => byName.get(n) ?? []);
  const portDevices = (p: ApiObject | undefined) => (p ? named(portDeviceName(p)) : []);
  const out: LinkedResource[] = [];
  const add = (type: ResourceType, o: ApiObject, devices: string[], label = s(o, 'name')) =>
    out.push({ type, id: o.id, label: label || o.id.slice(0, 8), devices: [...new Set(devices)], attributes: o });

  for (const net of api.networks) {
    const vni = net['provider:network_type'] === 'vxlan' ? Number(net['provider:segmentation_id']) : NaN;
    const ports = api.ports.filter((p) => p['network_id'] === net.id);
    add('network', net, [
      ...named(bridgeName(net.id)),
      ...(Number.isInteger(vni) ? named(vxlanName(vni)) : []),
      ...ports.flatMap(portDevices),
    ]);
  }
  for (const sub of api.subnets) {
    const ports = api.ports.filter((p) =>
      ((p['fixed_ips'] as Array<{ subnet_id: string }> | undefined) ?? []).some((f) => f.subnet_id === sub.id),
    );
    add('subnet', sub, [...named(bridgeName(s(sub, 'network_id'))), ...ports.flatMap(portDevices)], s(sub, 'name') || s(sub, 'cidr'));
  }
  for (const r of api.routers) add('router', r, byNamespace.get(routerNamespace(r.id)) ?? []);
  for (const p of api.ports) add('port', p, portDevices(p), s(p, 'name') || `${s(p, 'device_owner') || 'port'} ${p.id.slice(0, 8)}`);
  for (const f of api.floatingips) {
    const port = api.ports.find((p) => p.id === f['port_id']);
    const gw = api.ports.find((p) => p['device_id'] === f['router_id'] && p['device_owner'] === ROUTER_GW_OWNER);
    add('floatingip', f, [...portDevices(gw), ...portDevices(port)], s(f, 'floating_ip_address'));
  }
  for (const g of api.security_groups) {
    const ports = api.ports.filter(
      (p) =>
        String(p['device_owner'] ?? '').startsWith(COMPUTE_OWNER_PREFIX) &&
        ((p['security_groups'] as string[] | undefined) ?? []).includes(g.id),
    );
    add('security_group', g, ports.flatMap(portDevices));
  }
  return { resources: out };
}
