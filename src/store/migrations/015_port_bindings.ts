// A port's bindings besides its active one (binding-extended): the INACTIVE bindings a live migration
// prepares on the destination host. The active binding stays in the port's own binding_* columns,
// which everything else (host views, agents, list filters) reads, so existing ports need no copy.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('port_bindings')
    .addColumn('port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('vnic_type', 'text', (c) => c.notNull())
    .addColumn('vif_type', 'text', (c) => c.notNull())
    .addColumn('vif_details', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('port_bindings_pk', ['port_id', 'host'])
    .execute();
}
