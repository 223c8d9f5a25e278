// Port, network and router attributes of Neutron's extensions: a port's NUMA affinity policy and
// device profile (port-numa-affinity-policy, port-device-profile), and the availability zone hints of
// networks and routers (network_availability_zone, router_availability_zone).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ports').addColumn('numa_affinity_policy', 'text').execute();
  await db.schema.alterTable('ports').addColumn('device_profile', 'text').execute();
  for (const table of ['networks', 'routers']) {
    // JSON list of zone names
    await db.schema
      .alterTable(table)
      .addColumn('availability_zone_hints', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  }
}
