// Port forwardings over port ranges (floating-ip-port-forwarding-port-ranges): each side is a range
// start..end, a single port being start = end (Neutron's internal/external_port_start/_end; the
// existing columns are the starts). Metering label rules matching a source and/or a destination
// prefix (metering_source_and_destination_fields) instead of the deprecated remote_ip_prefix.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['external_port_end', 'internal_port_end']) {
    await db.schema
      .alterTable('port_forwardings')
      .addColumn(column, 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  }
  await sql`UPDATE port_forwardings SET external_port_end = external_port, internal_port_end = internal_port`.execute(db);
  await db.schema.alterTable('metering_label_rules').addColumn('source_ip_prefix', 'text').execute();
  await db.schema.alterTable('metering_label_rules').addColumn('destination_ip_prefix', 'text').execute();
}
