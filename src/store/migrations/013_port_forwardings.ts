// Floating IP port forwardings (Neutron's portforwardings): (floating IP, protocol, external port) →
// (internal port's address, internal port). A forwarding goes with its floating IP and with its
// internal port. The two unique indexes are Neutron's: one external socket per floating IP and
// protocol, one internal socket per protocol.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('port_forwardings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('floatingip_id', 'text', (c) => c.notNull().references('floatingips.id').onDelete('cascade'))
    .addColumn('internal_port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('internal_ip_address', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('external_port', 'integer', (c) => c.notNull())
    .addColumn('internal_port', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('port_forwardings_external')
    .on('port_forwardings')
    .columns(['floatingip_id', 'protocol', 'external_port'])
    .unique()
    .execute();
  await db.schema
    .createIndex('port_forwardings_internal')
    .on('port_forwardings')
    .columns(['protocol', 'internal_port_id', 'internal_ip_address', 'internal_port'])
    .unique()
    .execute();
}
