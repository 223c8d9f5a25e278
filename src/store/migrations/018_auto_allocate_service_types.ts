// Auto-allocated topology (get-me-a-network) and subnet service types:
// - networks.is_default: the default external network (Neutron's externalnetworks.is_default);
//   meaningful only while the network is external.
// - auto_allocated_topologies: each project's one auto-allocated network and router. The record goes
//   with its network; a deleted router leaves it without one (Neutron's foreign keys).
// - subnets.service_types: JSON list of the device owners whose ports may take addresses there
//   (empty: any port).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('networks')
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('subnets')
    .addColumn('service_types', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();
  await db.schema
    .createTable('auto_allocated_topologies')
    .addColumn('project_id', 'text', (c) => c.primaryKey())
    .addColumn('network_id', 'text', (c) => c.notNull().unique().references('networks.id').onDelete('cascade'))
    .addColumn('router_id', 'text', (c) => c.references('routers.id').onDelete('set null'))
    .execute();
}
