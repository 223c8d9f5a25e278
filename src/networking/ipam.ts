// IP allocation for ports against the store: honours requested subnets and addresses, then fills
// the rest from the pools, and gives every port its EUI-64 address on each SLAAC / DHCPv6-stateless
// subnet (neutron/db/ipam_pluggable_backend.py, ipam_backend_mixin.py). Runs inside the port's
// transaction; the (subnet, address) primary key backs it up when several servers share a database.
import { randomInt } from 'node:crypto';
import { badRequest, conflict, invalidInput, NeutronError } from '../model/errors.ts';
import { canonicalIpOrNull, cidrContains, eui64Address, ipAt, isEui64Address, parseIp } from '../model/ip.ts';
import { chooseAddress, poolRanges, type Pool } from '../model/ipam.ts';
import { ROUTER_GW_OWNER, ROUTER_INTERFACE_OWNERS, ROUTER_INTERFACE_OWNERS_SNAT } from '../model/neutron.ts';
import type { NetworkRow, SubnetRow } from '../store/schema/index.ts';
import { parseJson, recordChange, timestamp, type Tx } from './common.ts';
import { allocatedIndex, allocationRows, isAllocated, raiseFloor, readFloor } from './ipam-store.ts';
import { subnetCidr } from './lookups.ts';
import { isAutoAddressSubnet } from './subnet-requests.ts';
import { candidateSubnets } from './service-types.ts';
import { prepared } from '../store/prepared.ts';

export interface FixedIpRequest {
  subnet_id?: string;
  ip_address?: string;
}

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

/** Who the addresses are for: the owner decides the automatic addresses, the MAC gives the EUI-64 ones. */
export interface PortIdentity {
  deviceOwner: string;
  mac: string;
}

async function usedAddresses(tx: Tx, subnetId: string): Promise<Set<string>> {
  const rows = await tx.selectFrom('ip_allocations').select('ip_address').where('subnet_id', '=', subnetId).execute();
  return new Set(rows.map((r) => r.ip_address));
}

const exhausted = (networkId: string) => conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);

const invalidSubnet = (networkId: string, subnetId: string) =>
  invalidInput(`Failed to create port on network ${networkId}, because fixed_ips included invalid subnet ${subnetId}`);

const invalidIpForNetwork = (ip: string) =>
  new NeutronError(400, 'InvalidIpForNetwork', `IP address ${ip} is not a valid IP for any of the subnets on the specified network.`);

const alreadyAllocated = (ip: string, subnetId: string) =>
  conflict('IpAddressAlreadyAllocated', `IP address ${ip} already allocated in subnet ${subnetId}`);

async function pickFrom(tx: Tx, subnet: SubnetRow, lowest: boolean, taken: FixedIp[] = []): Promise<string | null> {
  const floor = await readFloor(tx, subnet.id);
  const choice = await chooseAddress(poolRanges(parseJson<Pool[]>(subnet.allocation_pools)), allocatedIndex(tx, subnet.id), {
    floor: floor.value,
    lowest,
    taken: new Set(taken.filter((t) => t.subnet_id === subnet.id).map((t) => parseIp(t.ip_address)!.value)),
    random: (n) => randomInt(n),
  });
  if (!choice) return null;
  if (choice.floor !== null) await raiseFloor(tx, subnet.id, floor, choice.floor);
  return ipAt(subnetCidr(subnet), choice.value);
}

const subnetsOf = prepared((db, v: { network: string }) => db.selectFrom('subnets').selectAll().where('network_id', '=', v.network));

/** Oldest first, then by id: created_at and id are ASCII, so code-unit order is the engines' text order. */
const byCreation = (a: SubnetRow, b: SubnetRow) =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

const isAutoSubnet = (s: SubnetRow) => s.ip_version === 6 && isAutoAddressSubnet(s);

/** Router ports may hold an IPv6 subnet's first address; other typed ports may not (ipam/utils.py::check_subnet_ip). */
const mayHoldIpv6Network = (owner: string) => owner === '' || owner === ROUTER_GW_OWNER || ROUTER_INTERFACE_OWNERS_SNAT.includes(owner);

/** An explicit address must be a host address of the subnet: not IPv4's network or broadcast address. */
function checkExplicit(subnet: SubnetRow, ip: string, owner: string) {
  const c = subnetCidr(subnet);
  const v = parseIp(ip)!;
  const edge =
    c.version === 4
      ? c.prefixLength < 31 && (v.value === c.network || v.value === c.last)
      : v.value === c.network && !mayHoldIpv6Network(owner);
  if (!cidrContains(c, v) || edge) {
    throw new NeutronError(400, 'InvalidIpForSubnet', `IP address ${ip} is not a valid IP for the specified subnet.`);
  }
}

/** _test_fixed_ips_for_port: on an auto-address subnet only router interfaces choose their address. */
function checkAutoAddress(subnet: SubnetRow, requested: string, ip: string, port: PortIdentity) {
  if (!isAutoSubnet(subnet) || ROUTER_INTERFACE_OWNERS.includes(port.deviceOwner)) return;
  if (eui64Address(subnet.cidr, port.mac) !== ip) {
    throw new NeutronError(
      400,
      'AllocationOnAutoAddressSubnet',
      `IPv6 address ${requested} cannot be directly assigned to a port on subnet ${subnet.id} as the subnet is configured for automatic addresses`,
    );
  }
}

/** The EUI-64 address of the port on an auto-address subnet, if no other port holds it. */
async function autoAddress(tx: Tx, subnet: SubnetRow, mac: string): Promise<FixedIp> {
  const ip = eui64Address(subnet.cidr, mac)!;
  if (await isAllocated(tx, subnet.id, ip)) throw alreadyAllocated(ip, subnet.id);
  return { subnet_id: subnet.id, ip_address: ip };
}

/**
 * Works out a port's addresses. `requests` undefined = Neutron's default: one address from the first
 * IPv4 subnet with room and one from the first DHCPv6-stateful subnet with room. `keep` are addresses
 * the port already holds (on update) and may retain; `macChanged` re-derives its EUI-64 addresses.
 * Either way, ports other than router interfaces end with an address on every auto-address subnet.
 */
export async function allocateFixedIps(
  tx: Tx,
  network: NetworkRow,
  requests: FixedIpRequest[] | undefined,
  opts: { lowest: boolean; port: PortIdentity; keep?: FixedIp[]; macChanged?: boolean },
): Promise<FixedIp[]> {
  // Sorted here, not by ORDER BY: a network has few subnets, and SQLite's sorter costs more per
  // query (~0.1 ms, whatever the row count) than the rest of this read.
  const subnets = (await subnetsOf(tx, { network: network.id })).rows.sort(byCreation);
  const byId = new Map(subnets.map((s) => [s.id, s]));
  const { port } = opts;
  // Subnets reserved for other services are not the port's to take new addresses on; addresses it holds stay.
  const candidates = candidateSubnets(subnets, network.id, port.deviceOwner);
  const isCandidate = (s: SubnetRow) => candidates.includes(s);
  const takesAutoAddresses = !ROUTER_INTERFACE_OWNERS_SNAT.includes(port.deviceOwner);
  const result: FixedIp[] = [];

  if (requests === undefined) {
    const v4 = candidates.filter((s) => s.ip_version === 4);
    const v6Stateful = candidates.filter((s) => s.ip_version === 6 && !isAutoSubnet(s));
    for (const group of [v4, v6Stateful]) {
      if (!group.length) continue;
      let picked: FixedIp | undefined;
      for (const s of group) {
        const ip = await pickFrom(tx, s, opts.lowest);
        if (ip) {
          picked = { subnet_id: s.id, ip_address: ip };
          break;
        }
      }
      if (!picked) throw exhausted(network.id);
      result.push(picked);
    }
  } else {
    const keep = (opts.keep ?? []).filter(
      (f) => !(opts.macChanged && isEui64Address(f.ip_address) && isAutoSubnet(byId.get(f.subnet_id)!)),
    );
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
        if (!subnet) throw invalidSubnet(network.id, req.subnet_id);
      }
      if (req.ip_address !== undefined) {
        const ip = canonicalIpOrNull(req.ip_address)!;
        if (!subnet) {
          subnet = subnets.find((s) => cidrContains(subnetCidr(s), parseIp(ip)!));
          if (!subnet) throw invalidIpForNetwork(ip);
        }
        checkAutoAddress(subnet, req.ip_address, ip, port);
        const held = take((f) => f.ip_address === ip && f.subnet_id === subnet!.id);
        if (held) {
          result.push(held);
          continue;
        }
        if (!isCandidate(subnet)) throw req.subnet_id === undefined ? invalidIpForNetwork(ip) : invalidSubnet(network.id, subnet.id);
        checkExplicit(subnet, ip, port.deviceOwner);
        if (result.some((r) => r.ip_address === ip) || (await isAllocated(tx, subnet.id, ip))) throw alreadyAllocated(ip, subnet.id);
        result.push({ subnet_id: subnet.id, ip_address: ip });
        continue;
      }
      if (!subnet) throw badRequest('Invalid fixed IP: neither subnet_id nor ip_address given');
      // A subnet-only request on an auto-address subnet is met by the automatic address below.
      if (isAutoSubnet(subnet) && takesAutoAddresses) continue;
      const held = take((f) => f.subnet_id === subnet!.id);
      if (held) {
        result.push(held);
        continue;
      }
      if (!isCandidate(subnet)) throw invalidSubnet(network.id, subnet.id);
      const ip = await pickFrom(tx, subnet, opts.lowest, result);
      if (!ip) throw exhausted(network.id);
      result.push({ subnet_id: subnet.id, ip_address: ip });
    }
    // Addresses on auto-address subnets stay unless named otherwise (_get_changed_ips_for_port).
    if (takesAutoAddresses) {
      for (const f of keep) {
        if (isAutoSubnet(byId.get(f.subnet_id)!) && !result.some((r) => r.subnet_id === f.subnet_id)) result.push(f);
      }
    }
  }
  if (takesAutoAddresses) {
    for (const s of candidates.filter(isAutoSubnet)) {
      if (!result.some((r) => r.subnet_id === s.id)) result.push(await autoAddress(tx, s, port.mac));
    }
  }
  return result;
}

/**
 * Gives a port that holds `held` the further addresses `requests` ask for (with its automatic ones)
 * and stores them; returns those added. The caller records the port's change.
 */
export async function addFixedIps(
  tx: Tx,
  network: NetworkRow,
  port: { id: string; device_owner: string; mac_address: string },
  held: FixedIp[],
  requests: FixedIpRequest[],
  lowest = false,
): Promise<FixedIp[]> {
  const next = await allocateFixedIps(tx, network, [...held, ...requests], {
    lowest,
    port: { deviceOwner: port.device_owner, mac: port.mac_address },
    keep: held,
  });
  const added = next.filter((f) => !held.some((h) => h.subnet_id === f.subnet_id && h.ip_address === f.ip_address));
  if (added.length) {
    await tx
      .insertInto('ip_allocations')
      .values(allocationRows(added, port.id, network.id))
      .execute();
  }
  return added;
}

/**
 * add_auto_addrs_on_network_ports: a new auto-address subnet gives every port of its network (router
 * interfaces excepted) its EUI-64 address there; each port so changed is updated (revision, feed).
 */
export async function addAutoAddressesOnNetwork(tx: Tx, subnet: SubnetRow): Promise<void> {
  const ports = await tx
    .selectFrom('ports')
    .select(['id', 'mac_address', 'project_id', 'revision_number'])
    .where('network_id', '=', subnet.network_id)
    .where('device_owner', 'not in', ROUTER_INTERFACE_OWNERS_SNAT)
    .execute();
  const used = await usedAddresses(tx, subnet.id);
  for (const p of ports) {
    const ip = eui64Address(subnet.cidr, p.mac_address)!;
    // Neutron skips a port whose address another port already holds.
    if (used.has(ip)) continue;
    used.add(ip);
    await tx
      .insertInto('ip_allocations')
      .values(allocationRows([{ subnet_id: subnet.id, ip_address: ip }], p.id, subnet.network_id))
      .execute();
    await tx
      .updateTable('ports')
      .set({ revision_number: p.revision_number + 1, updated_at: timestamp() })
      .where('id', '=', p.id)
      .execute();
    await recordChange(tx, 'port', p.id, 'update', p.project_id);
  }
}
