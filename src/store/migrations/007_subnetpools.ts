// Subnet pools and address scopes (Neutron's subnetpools, address_scopes): a pool's prefixes are a
// JSON list of CIDRs, compacted; `hash` changes with every prefix allocated from the pool, so two
// allocations from one pool are serialized by its row. Subnets record the pool they came from. Pools
// take tags as the other standard-attribute resources do (migration 004's pattern); address scopes
// have no standard attributes in Neutron, so no tags either.
import type { Kysely } from 'kysely';
import { tagTableName } from './004_tags.ts';

/** The resource tables this migration adds to those that take tags. */
export const TAGGED_TABLES_007 = ['subnetpools'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('address_scopes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('subnetpools')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('default_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('min_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('max_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('default_quota', 'integer')
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('address_scope_id', 'text')
    .addColumn('prefixes', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('subnetpools_address_scope').on('subnetpools').column('address_scope_id').execute();

  await db.schema.alterTable('subnets').addColumn('subnetpool_id', 'text').execute();
  await db.schema.createIndex('subnets_subnetpool').on('subnets').column('subnetpool_id').execute();

  for (const table of TAGGED_TABLES_007) {
    await db.schema
      .createTable(tagTableName(table))
      .addColumn('resource_id', 'text', (c) => c.notNull().references(`${table}.id`).onDelete('cascade'))
      .addColumn('tag', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${tagTableName(table)}_pkey`, ['resource_id', 'tag'])
      .execute();
    await db.schema
      .createIndex(`${tagTableName(table)}_tag`)
      .on(tagTableName(table))
      .column('tag')
      .execute();
  }
}
