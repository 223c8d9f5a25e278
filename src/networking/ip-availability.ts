// Network IP availability (neutron/db/network_ip_availability_db.py): per network and per subnet, the
// addresses the allocation pools hold (the whole CIDR when a subnet has none) and the addresses
// allocated (every allocation, inside the pools or not). Admin only (get_network_ip_availability).
// Totals are bigints: an IPv6 subnet holds more addresses than a JSON number keeps exactly.
import type { ResourceSpec } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { notFound } from '../model/errors.ts';
import { cidrSize, parseIp } from '../model/ip.ts';
import type { Pool } from '../model/ipam.ts';
import { toInt } from '../model/validators.ts';
import { parseJson, type Tx } from './common.ts';
import { subnetCidr } from './lookups.ts';

/** The attributes (network_ip_availability's RESOURCE_ATTRIBUTE_MAP), for filter and field parsing. */
export const ipAvailabilitySpec: ResourceSpec = {
  singular: 'network_ip_availability',
  plural: 'network_ip_availabilities',
  path: 'network-ip-availabilities',
  attributes: {
    network_id: { filter: true, sort: true },
    network_name: { filter: true },
    total_ips: { filter: false },
    used_ips: { filter: false },
    subnet_ip_availability: { filter: false },
    ip_version: { filter: true, convert: toInt },
  },
};

export interface SubnetAvailability {
  subnet_id: string;
  ip_version: number;
  cidr: string;
  subnet_name: string;
  used_ips: number;
  total_ips: bigint;
}

export interface NetworkAvailability {
  network_id: string;
  network_name: string;
  tenant_id: string;
  project_id: string;
  subnet_ip_availability: SubnetAvailability[];
  used_ips: number;
  total_ips: bigint;
}

/** The addresses a subnet's pools hold, or its whole CIDR without pools (_generate_subnet_total_ips_dict). */
function totalIps(subnet: { cidr: string; allocation_pools: string }): bigint {
  const pools = parseJson<Pool[]>(subnet.allocation_pools);
  if (!pools.length) return cidrSize(subnetCidr(subnet));
  return pools.reduce((n, p) => n + parseIp(p.end)!.value - parseIp(p.start)!.value + 1n, 0n);
}

const matches = (filters: Map<string, unknown[]>, key: string, value: unknown) => {
  const wanted = filters.get(key);
  return !wanted || wanted.includes(value);
};

/** The availability of every network the filters select (network_id, network_name, project_id, ip_version). */
export async function ipAvailabilities(tx: Tx, ctx: AuthContext, filters: Map<string, unknown[]>): Promise<NetworkAvailability[]> {
  // The policy is the admin's: others see an empty list (policy.check drops each item).
  if (!ctx.isAdmin) return [];
  const networks = (await tx.selectFrom('networks').select(['id', 'name', 'project_id']).orderBy('id').execute()).filter(
    (n) => matches(filters, 'network_id', n.id) && matches(filters, 'network_name', n.name) && matches(filters, 'project_id', n.project_id),
  );
  if (!networks.length) return [];
  const ids = networks.map((n) => n.id);
  const subnets = (
    await tx
      .selectFrom('subnets')
      .select(['id', 'name', 'network_id', 'ip_version', 'cidr', 'allocation_pools'])
      .where('network_id', 'in', ids)
      .orderBy('id')
      .execute()
  ).filter((s) => matches(filters, 'ip_version', s.ip_version));
  const used = await tx
    .selectFrom('ip_allocations')
    .select((eb) => ['subnet_id', eb.fn.countAll<number>().as('n')])
    .where('network_id', 'in', ids)
    .groupBy('subnet_id')
    .execute();
  const usedBySubnet = new Map(used.map((u) => [u.subnet_id, Number(u.n)]));
  const out: NetworkAvailability[] = [];
  for (const n of networks) {
    const own = subnets.filter((s) => s.network_id === n.id);
    // The ip_version filter applies to the subnets joined in: a network without one of that family is left out.
    if (filters.has('ip_version') && !own.length) continue;
    const subnetStats = own.map((s): SubnetAvailability => ({
      subnet_id: s.id,
      ip_version: s.ip_version,
      cidr: s.cidr,
      subnet_name: s.name,
      used_ips: usedBySubnet.get(s.id) ?? 0,
      total_ips: totalIps(s),
    }));
    out.push({
      network_id: n.id,
      network_name: n.name,
      tenant_id: n.project_id,
      project_id: n.project_id,
      subnet_ip_availability: subnetStats,
      used_ips: subnetStats.reduce((x, s) => x + s.used_ips, 0),
      total_ips: subnetStats.reduce((x, s) => x + s.total_ips, 0n),
    });
  }
  return out;
}

/** One network's availability: NotFound for a network that does not exist and for anyone but an admin. */
export async function ipAvailability(tx: Tx, ctx: AuthContext, networkId: string): Promise<NetworkAvailability> {
  // As Neutron's policy hook answers a single GET the policy refuses: the resource could not be found.
  if (!ctx.isAdmin) throw notFound('HTTPNotFound', 'The resource could not be found.');
  const [found] = await ipAvailabilities(tx, ctx, new Map([['network_id', [networkId]]]));
  if (!found) throw notFound('NetworkNotFound', `Network ${networkId} could not be found.`);
  return found;
}
