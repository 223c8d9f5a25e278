// Tags (Neutron's standard-attr-tag): one table per taggable resource, keyed by (resource_id, tag) so a
// tag is held once per resource; the foreign key removes a resource's tags with it, whoever deletes it.
import type { Kysely } from 'kysely';

/** The resource tables that take tags, as Neutron's tag_support models (those neutrino has). */
export const TAGGED_TABLES = ['networks', 'subnets', 'ports', 'routers', 'floatingips', 'security_groups'] as const;

export const tagTableName = (table: string) => `${table}_tags`;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of TAGGED_TABLES) {
    await db.schema
      .createTable(tagTableName(table))
      .addColumn('resource_id', 'text', (c) => c.notNull().references(`${table}.id`).onDelete('cascade'))
      .addColumn('tag', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${tagTableName(table)}_pkey`, ['resource_id', 'tag'])
      .execute();
    // The tag filters look resources up by tag.
    await db.schema
      .createIndex(`${tagTableName(table)}_tag`)
      .on(tagTableName(table))
      .column('tag')
      .execute();
  }
}
