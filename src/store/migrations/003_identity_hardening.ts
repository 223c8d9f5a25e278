// Keystone's revocation events (tokens issued before an event that matches them are dead, even if
// the user regains the role) and its per-user record of consecutive failed password checks.
import type { Kysely } from 'kysely';
import { autoIncrementKey } from '../dialect.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('revocation_events')
    .addColumn('id', 'integer', autoIncrementKey(db))
    .addColumn('user_id', 'text')
    .addColumn('project_id', 'text')
    .addColumn('issued_before', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revocation_events_user').on('revocation_events').column('user_id').execute();
  await db.schema.createIndex('revocation_events_project').on('revocation_events').column('project_id').execute();
  await db.schema
    .createTable('failed_auths')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('failed_auth_count', 'integer', (c) => c.notNull())
    .addColumn('failed_auth_at', 'text', (c) => c.notNull())
    .execute();
}
