// Which node keepalived made primary for each HA router, from what the tracer read on the nodes: a
// node holds an HA router as primary while its `ha-` device carries an address besides the HA
// port's own (keepalived's primary VIP, 169.254.0.<vr_id>/24 for Neutron's and neutrino's agents;
// any extra address counts, so nothing here assumes who built the router). Pure.
import { routerNamespace } from '../../kernel/names.ts';
import { ROUTER_HA_INTF_OWNER } from '../../model/neutron.ts';
import { parseNamespace } from '../../observe/node.ts';
import type { ApiObject, ApiResources, NodeDump } from '../snapshot.ts';

const isHa = (r: ApiObject) => r['ha'] === true;

/** The HA port addresses of router `id` (every node's), which alone do not make a node primary. */
export function haPortAddresses(api: ApiResources, id: string): Set<string> {
  const out = new Set<string>();
  for (const p of api.ports) {
    if (p['device_id'] !== id || p['device_owner'] !== ROUTER_HA_INTF_OWNER) continue;
    for (const f of (p['fixed_ips'] as Array<{ ip_address: string }> | undefined) ?? []) out.add(f.ip_address);
  }
  return out;
}

/**
 * A router namespace's addresses make its node primary: an `ha-` device holds one that is no HA
 * port's. IPv6 link-local addresses do not count: the kernel gives every node's `ha-` one.
 */
export const holdsPrimaryVip = (addresses: ReadonlyArray<{ dev: string; address: string }>, haPorts: ReadonlySet<string>): boolean =>
  addresses.some((a) => a.dev.startsWith('ha-') && !a.address.startsWith('fe80:') && !haPorts.has(a.address.split('/')[0]!));

/**
 * The HA routers primary on the node `dump` was read from: those whose namespace there has an
 * `ha-` device holding an address that is no HA port's. A namespace not read, or unreadable, makes
 * none primary.
 */
export function primaryRoutersOn(dump: NodeDump, api: ApiResources): Set<string> {
  const out = new Set<string>();
  for (const r of api.routers.filter(isHa)) {
    const raw = dump.namespaces[routerNamespace(r.id)];
    if (!raw) continue;
    let addresses: Array<{ dev: string; address: string }>;
    try {
      addresses = parseNamespace(routerNamespace(r.id), raw).state.addresses;
    } catch {
      continue;
    }
    if (holdsPrimaryVip(addresses, haPortAddresses(api, r.id))) out.add(r.id);
  }
  return out;
}
