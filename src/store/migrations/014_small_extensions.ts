// Service flavors (Neutron's flavors, serviceprofiles, flavorserviceprofilebindings): an operator's
// named choice of service profiles, each naming a provider driver. A binding goes with either end.
// Routers record the flavor they were created with (l3-flavors); a flavor in use is not deleted.
// Address groups (address_groups, address_associations): a project's named set of CIDRs.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('flavors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('service_type', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('service_profiles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('description', 'text')
    .addColumn('driver', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('metainfo', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('flavor_service_profile_bindings')
    .addColumn('flavor_id', 'text', (c) => c.notNull().references('flavors.id').onDelete('cascade'))
    .addColumn('service_profile_id', 'text', (c) => c.notNull().references('service_profiles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('flavor_service_profile_bindings_pkey', ['flavor_id', 'service_profile_id'])
    .execute();
  await db.schema
    .createIndex('flavor_service_profile_bindings_profile')
    .on('flavor_service_profile_bindings')
    .column('service_profile_id')
    .execute();

  await db.schema.alterTable('routers').addColumn('flavor_id', 'text').execute();

  await db.schema
    .createTable('address_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('address_associations')
    .addColumn('address_group_id', 'text', (c) => c.notNull().references('address_groups.id').onDelete('cascade'))
    .addColumn('address', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('address_associations_pkey', ['address_group_id', 'address'])
    .execute();
  await db.schema.createIndex('routers_flavor').on('routers').column('flavor_id').execute();
}
