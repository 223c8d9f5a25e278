// IP allocation for ports against the store: honours requested subnets and addresses, then fills
// the rest from the pools (neutron/db/ipam_pluggable_backend.py). Runs inside the port's transaction;
// the (subnet, address) primary key backs it up when several servers share a database.
import { randomInt } from 'node:crypto';
import { badRequest, conflict, invalidInput, NeutronError } from '../model/errors.js';
import { canonicalIpOrNull, cidrContains, parseIp } from '../model/ip.js';
import { chooseAddress, type Pool } from '../model/ipam.js';
import type { NetworkRow, SubnetRow } from '../store/schema/index.js';
import { parseJson, type Tx } from './common.js';
import { subnetCidr } from './lookups.js';

export interface FixedIpRequest {
  subnet_id?: string;
  ip_address?: string;
}

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

async function usedAddresses(tx: Tx, subnetId: string): Promise<Set<string>> {
  const rows = await tx.selectFrom('ip_allocations').select('ip_address').where('subnet_id', '=', subnetId).execute();
  return new Set(rows.map((r) => r.ip_address));
}

const exhausted = (networkId: string) => conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);

async function pickFrom(tx: Tx, subnet: SubnetRow, lowest: boolean): Promise<string | null> {
  const pools = parseJson<Pool[]>(subnet.allocation_pools);
  return chooseAddress(subnetCidr(subnet), pools, await usedAddresses(tx, subnet.id), lowest, (n) => randomInt(n));
}

/** An explicit address must be a host address of the subnet (not its network or broadcast address). */
function checkExplicit(subnet: SubnetRow, ip: string) {
  const c = subnetCidr(subnet);
  const v = parseIp(ip)!;
  const edge = c.version === 4 && c.prefixLength < 31 && (v.value === c.network || v.value === c.last);
  if (!cidrContains(c, v) || edge) {
    throw new NeutronError(400, 'InvalidIpForSubnet', `IP address ${ip} is not a valid IP for the specified subnet.`);
  }
}

/**
 * Works out a port's addresses. `requests` undefined = Neutron's default (one address from the first
 * IPv4 subnet with room). `keep` are addresses the port already holds (on update) and may retain.
 */
export async function allocateFixedIps(
  tx: Tx,
  network: NetworkRow,
  requests: FixedIpRequest[] | undefined,
  opts: { lowest: boolean; keep?: FixedIp[] },
): Promise<FixedIp[]> {
  const subnets = await tx
    .selectFrom('subnets')
    .selectAll()
    .where('network_id', '=', network.id)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const byId = new Map(subnets.map((s) => [s.id, s]));

  if (requests === undefined) {
    const v4 = subnets.filter((s) => s.ip_version === 4);
    for (const s of v4) {
      const ip = await pickFrom(tx, s, opts.lowest);
      if (ip) return [{ subnet_id: s.id, ip_address: ip }];
    }
    if (v4.length) throw exhausted(network.id);
    return [];
  }

  const result: FixedIp[] = [];
  const keep = [...(opts.keep ?? [])];
  const take = (pred: (f: FixedIp) => boolean) => {
    const i = keep.findIndex(pred);
    return i >= 0 ? keep.splice(i, 1)[0] : undefined;
  };
  // Explicit addresses first, then subnet-only requests (as Neutron orders them).
  const ordered = [...requests].sort((a, b) => Number(b.ip_address !== undefined) - Number(a.ip_address !== undefined));
  for (const req of ordered) {
    let subnet: SubnetRow | undefined;
    if (req.subnet_id !== undefined) {
      subnet = byId.get(req.subnet_id);
      if (!subnet) {
        throw invalidInput(`Failed to create port on network ${network.id}, because fixed_ips included invalid subnet ${req.subnet_id}`);
      }
    }
    if (req.ip_address !== undefined) {
      const ip = canonicalIpOrNull(req.ip_address)!;
      if (!subnet) {
        subnet = subnets.find((s) => cidrContains(subnetCidr(s), parseIp(ip)!));
        if (!subnet) {
          throw new NeutronError(
            400,
            'InvalidIpForNetwork',
            `IP address ${ip} is not a valid IP for any of the subnets on the specified network.`,
          );
        }
      }
      const held = take((f) => f.ip_address === ip && f.subnet_id === subnet!.id);
      if (held) {
        result.push(held);
        continue;
      }
      checkExplicit(subnet, ip);
      if ((await usedAddresses(tx, subnet.id)).has(ip) || result.some((r) => r.ip_address === ip)) {
        throw conflict('IpAddressAlreadyAllocated', `IP address ${ip} already allocated in subnet ${subnet.id}`);
      }
      result.push({ subnet_id: subnet.id, ip_address: ip });
      continue;
    }
    if (!subnet) throw badRequest('Invalid fixed IP: neither subnet_id nor ip_address given');
    const held = take((f) => f.subnet_id === subnet!.id);
    if (held) {
      result.push(held);
      continue;
    }
    const used = await usedAddresses(tx, subnet.id);
    for (const r of result) used.add(r.ip_address);
    const ip = chooseAddress(subnetCidr(subnet), parseJson<Pool[]>(subnet.allocation_pools), used, opts.lowest, (n) => randomInt(n));
    if (!ip) throw exhausted(network.id);
    result.push({ subnet_id: subnet.id, ip_address: ip });
  }
  return result;
}
