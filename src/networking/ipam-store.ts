// IPAM's reads and writes of the store: allocated addresses by range over the (subnet, key) index,
// point checks, and the subnet's floor (migration 004), which the database lowers when an allocation
// goes; here it is only raised, and only if no allocation went since it was read.
import { ipamKey, type AllocatedIndex } from '../model/ipam.js';
import { parseIp } from '../model/ip.js';
import type { Tx } from './common.js';

export interface AllocationRef {
  subnet_id: string;
  ip_address: string;
}

/** Rows for ip_allocations, with the sortable key the search reads. */
export const allocationRows = (fixedIps: AllocationRef[], portId: string, networkId: string) =>
  fixedIps.map((f) => ({
    subnet_id: f.subnet_id,
    ip_address: f.ip_address,
    ip_key: ipamKey(parseIp(f.ip_address)!.value),
    port_id: portId,
    network_id: networkId,
  }));

export async function isAllocated(tx: Tx, subnetId: string, ip: string): Promise<boolean> {
  const row = await tx
    .selectFrom('ip_allocations')
    .select('ip_key')
    .where('subnet_id', '=', subnetId)
    .where('ip_address', '=', ip)
    .executeTakeFirst();
  return row !== undefined;
}

export function allocatedIndex(tx: Tx, subnetId: string): AllocatedIndex {
  const keys = tx.selectFrom('ip_allocations').select('ip_key').where('subnet_id', '=', subnetId);
  return {
    async inRange(from, to, limit) {
      const rows = await keys
        .where('ip_key', '>=', ipamKey(from))
        .where('ip_key', '<=', ipamKey(to))
        .orderBy('ip_key')
        .limit(limit)
        .execute();
      return rows.map((r) => BigInt(r.ip_key));
    },
    async among(values) {
      const rows = await keys.where('ip_key', 'in', values.map(ipamKey)).execute();
      return new Set(rows.map((r) => BigInt(r.ip_key)));
    },
    async count(from, to) {
      const row = await tx
        .selectFrom('ip_allocations')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('subnet_id', '=', subnetId)
        .where('ip_key', '>=', ipamKey(from))
        .where('ip_key', '<=', ipamKey(to))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

export interface Floor {
  value: bigint;
  generation: number;
}

export async function readFloor(tx: Tx, subnetId: string): Promise<Floor> {
  const row = await tx.selectFrom('ipam_floors').select(['floor_key', 'generation']).where('subnet_id', '=', subnetId).executeTakeFirst();
  // A missing row (never after migration 004's trigger) is the floor that knows nothing.
  return row ? { value: BigInt(row.floor_key), generation: row.generation } : { value: 0n, generation: -1 };
}

/** Raises the floor to `value`, unless an allocation of the subnet went since `read` (the generation moved). */
export async function raiseFloor(tx: Tx, subnetId: string, read: Floor, value: bigint): Promise<void> {
  if (value <= read.value || read.generation < 0) return;
  await tx
    .updateTable('ipam_floors')
    .set({ floor_key: ipamKey(value) })
    .where('subnet_id', '=', subnetId)
    .where('generation', '=', read.generation)
    .where('floor_key', '<', ipamKey(value))
    .execute();
}
