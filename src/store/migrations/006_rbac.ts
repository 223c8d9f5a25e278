// RBAC policies (neutron/db/rbac_db_models.py): one table for every object type, unique per
// (object, action, target). A network's `shared` flag becomes its wildcard access_as_shared policy and
// `router:external` gets its wildcard access_as_external policy, as Neutron keeps them.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rbac_policies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('object_id', 'text', (c) => c.notNull())
    .addColumn('target_project', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addUniqueConstraint('rbac_policies_target_object_action', ['object_type', 'object_id', 'action', 'target_project'])
    .execute();
  // Visibility asks "is this object shared with this project?" per row of every list.
  await db.schema.createIndex('rbac_policies_target').on('rbac_policies').columns(['target_project', 'object_type']).execute();
  await db.schema.createIndex('rbac_policies_project').on('rbac_policies').column('project_id').execute();

  const { rows } = await sql<{ id: string; project_id: string; shared: number; router_external: number }>`
    select id, project_id, shared, router_external from networks where shared <> 0 or router_external <> 0`.execute(db);
  for (const n of rows) {
    const actions = [...(n.shared ? ['access_as_shared'] : []), ...(n.router_external ? ['access_as_external'] : [])];
    for (const action of actions) {
      await sql`insert into rbac_policies (id, project_id, object_type, object_id, target_project, action)
        values (${randomUUID()}, ${n.project_id}, 'network', ${n.id}, '*', ${action})`.execute(db);
    }
  }
  await db.schema.alterTable('networks').dropColumn('shared').execute();
}
