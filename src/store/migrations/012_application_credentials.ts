// Keystone's application credentials: a user's named secret for one project and a subset of the
// user's roles there, optionally expiring; tokens issued from one remember it (a token dies with its
// credential).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('application_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('unrestricted', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('application_credentials_user_name', ['user_id', 'name'])
    .execute();
  await db.schema
    .createTable('application_credential_roles')
    .addColumn('application_credential_id', 'text', (c) => c.notNull().references('application_credentials.id').onDelete('cascade'))
    .addColumn('role_id', 'text', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('application_credential_roles_pk', ['application_credential_id', 'role_id'])
    .execute();
  await db.schema.alterTable('tokens').addColumn('application_credential_id', 'text').execute();
}
