// Security group rules naming an address group as their remote (remote_address_group_id), and
// Neutron's metering labels and their rules (meteringlabels, meteringlabelrules), and the
// counters the agents report for them.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('security_group_rules').addColumn('remote_address_group_id', 'text').execute();
  await db.schema
    .createIndex('security_group_rules_remote_address_group')
    .on('security_group_rules')
    .column('remote_address_group_id')
    .execute();

  await db.schema
    .createTable('metering_labels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('metering_labels_project').on('metering_labels').column('project_id').execute();
  await db.schema
    .createTable('metering_label_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('metering_label_id', 'text', (c) => c.notNull().references('metering_labels.id').onDelete('cascade'))
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('excluded', 'integer', (c) => c.notNull())
    .addColumn('remote_ip_prefix', 'text')
    .execute();
  await db.schema.createIndex('metering_label_rules_label').on('metering_label_rules').column('metering_label_id').execute();
  // The counters the L3 agents last reported: per label, router and host (the router's node).
  await db.schema
    .createTable('metering_counters')
    .addColumn('label_id', 'text', (c) => c.notNull().references('metering_labels.id').onDelete('cascade'))
    .addColumn('router_id', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('packets', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('metering_counters_pk', ['label_id', 'router_id', 'host'])
    .execute();
}
