// IPAM's reads and writes of the store: allocated addresses by range over the (subnet, key) index,
// point checks, and the subnet's floor (migration 004), which the database lowers when an allocation
// goes; here it is only raised, and only if no allocation went since it was read.
import { ipamKey, type AllocatedIndex } from '../model/ipam.ts';
import { parseIp } from '../model/ip.ts';
import { prepared } from '../store/prepared.ts';
import type { Tx } from './common.ts';

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

type AllocationRow = ReturnType<typeof allocationRows>[number];
const insertAllocation = prepared((db, row: AllocationRow) => db.insertInto('ip_allocations').values(row));

/** Stores the rows, one statement each (one kept compiled statement, whatever their number). */
export async function insertAllocations(tx: Tx, rows: AllocationRow[]): Promise<void> {
  for (const row of rows) await insertAllocation(tx, row);
}

export async function isAllocated(tx: Tx, subnetId: string, ip: string): Promise<boolean> {
  const row = await tx
    .selectFrom('ip_allocations')
    .select('ip_key')
    .where('subnet_id', '=', subnetId)
    .where('ip_address', '=', ip)
    .executeTakeFirst();
  return row !== undefined;
}

const keysInRange = prepared((db, v: { subnet: string; from: string; to: string; limit: number }) =>
  db
    .selectFrom('ip_allocations')
    .select('ip_key')
    .where('subnet_id', '=', v.subnet)
    .where('ip_key', '>=', v.from)
    .where('ip_key', '<=', v.to)
    .orderBy('ip_key')
    .limit(v.limit),
);
const countInRange = prepared((db, v: { subnet: string; from: string; to: string }) =>
  db
    .selectFrom('ip_allocations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('subnet_id', '=', v.subnet)
    .where('ip_key', '>=', v.from)
    .where('ip_key', '<=', v.to),
);
const floorOf = prepared((db, v: { subnet: string }) =>
  db.selectFrom('ipam_floors').select(['floor_key', 'generation']).where('subnet_id', '=', v.subnet),
);

export function allocatedIndex(tx: Tx, subnetId: string): AllocatedIndex {
  const keys = tx.selectFrom('ip_allocations').select('ip_key').where('subnet_id', '=', subnetId);
  return {
    async inRange(from, to, limit) {
      const { rows } = await keysInRange(tx, { subnet: subnetId, from: ipamKey(from), to: ipamKey(to), limit });
      return rows.map((r) => BigInt(r.ip_key));
    },
    async among(values) {
      const rows = await keys.where('ip_key', 'in', values.map(ipamKey)).execute();
      return new Set(rows.map((r) => BigInt(r.ip_key)));
    },
    async count(from, to) {
      const { rows } = await countInRange(tx, { subnet: subnetId, from: ipamKey(from), to: ipamKey(to) });
      return Number(rows[0].n);
    },
  };
}

export interface Floor {
  value: bigint;
  generation: number;
}

export async function readFloor(tx: Tx, subnetId: string): Promise<Floor> {
  const [row] = (await floorOf(tx, { subnet: subnetId })).rows;
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
