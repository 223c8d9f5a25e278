// VLAN allocations (Neutron's ml2_vlan_allocations, holding only the allocated VLANs): keyed by
// (physical network, VLAN id), so two servers on one database never give a VLAN to two networks —
// the second insert meets the key and its unit of work retries. The foreign key frees the VLAN with
// its network, whoever deletes it.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ml2_vlan_allocations')
    .addColumn('physical_network', 'text', (c) => c.notNull())
    .addColumn('vlan_id', 'integer', (c) => c.notNull())
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('ml2_vlan_allocations_pkey', ['physical_network', 'vlan_id'])
    .execute();
  // The network's delete finds its allocation by network.
  await db.schema.createIndex('ml2_vlan_allocations_network').on('ml2_vlan_allocations').column('network_id').execute();
}
