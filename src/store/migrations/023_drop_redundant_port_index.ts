// ports_network (network_id) duplicated the leading column of the unique key ports_network_mac
// (network_id, mac_address), which answers every lookup by network as well. Each port insert, delete
// and network change still paid for the second b-tree (one more page written per create).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('ports_network').execute();
}
