// Subnet pools and address scopes shared through RBAC, as Neutron keeps them (rbac-subnetpool,
// rbac-address-scope): a `shared` flag becomes the object's wildcard access_as_shared policy, owned
// by the object's project, and the column goes. Address groups never had the flag.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

const SHARED_TABLES = [
  ['subnetpools', 'subnetpool'],
  ['address_scopes', 'address_scope'],
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, objectType] of SHARED_TABLES) {
    const { rows } = await sql<{ id: string; project_id: string }>`
      select id, project_id from ${sql.table(table)} where shared <> 0`.execute(db);
    for (const o of rows) {
      await sql`insert into rbac_policies (id, project_id, object_type, object_id, target_project, action)
        values (${randomUUID()}, ${o.project_id}, ${objectType}, ${o.id}, '*', 'access_as_shared')`.execute(db);
    }
    await db.schema.alterTable(table).dropColumn('shared').execute();
  }
}
