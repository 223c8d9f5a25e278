// Keystone's groups: named per domain, holding users, and holding roles on projects that their
// members then hold too.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id'))
    .addColumn('description', 'text', (c) => c.notNull())
    .addUniqueConstraint('groups_domain_name', ['domain_id', 'name'])
    .execute();
  await db.schema
    .createTable('group_memberships')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('group_memberships_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('group_memberships_user').on('group_memberships').column('user_id').execute();
  await db.schema
    .createTable('group_role_assignments')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('group_role_assignments_pk', ['project_id', 'group_id', 'role_id'])
    .execute();
  await db.schema.createIndex('group_role_assignments_group').on('group_role_assignments').column('group_id').execute();
}
