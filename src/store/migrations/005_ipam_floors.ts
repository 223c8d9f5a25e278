// Address allocation without reading a subnet's every allocation: each allocation gets a key that
// sorts as its address (for range reads over the primary key's subnet), and each subnet a floor —
// every address of its pools below the floor is allocated — that the database itself lowers when an
// allocation goes and resets when the pools change or the subnet is created, so no code path can
// leave it too high. `generation` counts those lowerings, so that a floor raised from a read made
// before one of them is refused.
import { sql, type Kysely } from 'kysely';
import { parseIp } from '../../model/ip.ts';
import { isPostgres } from '../dialect.ts';

/** Decimal, zero-padded to the width of the largest IPv6 address: sorts the same under any collation. */
const KEY_WIDTH = 39;
const ZERO_KEY = '0'.repeat(KEY_WIDTH);

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('ip_allocations')
    .addColumn('ip_key', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  const { rows } = await sql<{ subnet_id: string; ip_address: string }>`select subnet_id, ip_address from ip_allocations`.execute(db);
  for (const r of rows) {
    const key = parseIp(r.ip_address)!.value.toString().padStart(KEY_WIDTH, '0');
    await sql`update ip_allocations set ip_key = ${key} where subnet_id = ${r.subnet_id} and ip_address = ${r.ip_address}`.execute(db);
  }
  await db.schema.createIndex('ip_allocations_subnet_key').on('ip_allocations').columns(['subnet_id', 'ip_key']).unique().execute();

  await db.schema
    .createTable('ipam_floors')
    .addColumn('subnet_id', 'text', (c) => c.primaryKey().references('subnets.id').onDelete('cascade'))
    .addColumn('floor_key', 'text', (c) => c.notNull())
    .addColumn('generation', 'integer', (c) => c.notNull())
    .execute();
  await sql`insert into ipam_floors (subnet_id, floor_key, generation) select id, ${ZERO_KEY}, 0 from subnets`.execute(db);

  const created = sql`insert into ipam_floors (subnet_id, floor_key, generation) values (new.id, ${sql.lit(ZERO_KEY)}, 0)`;
  const poolsChanged = sql`update ipam_floors set floor_key = ${sql.lit(ZERO_KEY)}, generation = generation + 1 where subnet_id = new.id`;
  if (isPostgres(db)) {
    const freed = sql`update ipam_floors set floor_key = least(floor_key, old.ip_key), generation = generation + 1 where subnet_id = old.subnet_id`;
    for (const [name, body, event, table, row] of [
      ['ipam_floor_created', created, sql`after insert`, 'subnets', 'new'],
      ['ipam_floor_pools_changed', poolsChanged, sql`after update of allocation_pools`, 'subnets', 'new'],
      ['ipam_floor_freed', freed, sql`after delete`, 'ip_allocations', 'old'],
    ] as const) {
      await sql`create function ${sql.raw(name)}() returns trigger language plpgsql as $$ begin ${body}; return ${sql.raw(row)}; end $$`.execute(
        db,
      );
      await sql`create trigger ${sql.raw(name)} ${event} on ${sql.table(table)} for each row execute function ${sql.raw(name)}()`.execute(
        db,
      );
    }
  } else {
    const freed = sql`update ipam_floors set floor_key = min(floor_key, old.ip_key), generation = generation + 1 where subnet_id = old.subnet_id`;
    await sql`create trigger ipam_floor_created after insert on subnets begin ${created}; end`.execute(db);
    await sql`create trigger ipam_floor_pools_changed after update of allocation_pools on subnets begin ${poolsChanged}; end`.execute(db);
    await sql`create trigger ipam_floor_freed after delete on ip_allocations begin ${freed}; end`.execute(db);
  }
}
