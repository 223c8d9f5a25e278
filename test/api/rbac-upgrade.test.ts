// Migrations 006 and 017 on a store that already has shared objects: a network's shared and external
// flags, a subnet pool's or address scope's shared flag, each becomes the object's wildcard policy,
// owned by its project, and the `shared` column goes — on SQLite and (with-postgres.ts) PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Db } from '../../src/store/db.ts';
import { upgrade } from '../helpers/upgrade.ts';

const columnsOf = async (db: Db, table: string) =>
  (await db.introspection.getTables()).find((t) => t.name === table)!.columns.map((c) => c.name);

const now = '2026-01-01T00:00:00Z';

test('migration 006 turns shared and external flags into wildcard policies', async () => {
  await upgrade(
    '005_ipam_floors',
    async (old) => {
      for (const [id, shared, external] of [
        ['net-shared', 1, 0],
        ['net-external', 0, 1],
        ['net-both', 1, 1],
        ['net-private', 0, 0],
      ] as const) {
        await sql`insert into networks (id, project_id, name, description, revision_number, created_at, updated_at, admin_state_up,
        status, shared, router_external, mtu, port_security_enabled, network_type, segment_key)
        values (${id}, ${`p-${id}`}, ${id}, '', 0, ${now}, ${now}, 1, 'ACTIVE', ${shared}, ${external}, 1450, 1, 'vxlan', ${`vxlan:${id}`})`.execute(
          old,
        );
      }
    },
    async (db) => {
      const policies = await db
        .selectFrom('rbac_policies')
        .select(['project_id', 'object_type', 'object_id', 'target_project', 'action'])
        .orderBy('object_id')
        .orderBy('action')
        .execute();
      assert.deepEqual(policies, [
        { project_id: 'p-net-both', object_type: 'network', object_id: 'net-both', target_project: '*', action: 'access_as_external' },
        { project_id: 'p-net-both', object_type: 'network', object_id: 'net-both', target_project: '*', action: 'access_as_shared' },
        {
          project_id: 'p-net-external',
          object_type: 'network',
          object_id: 'net-external',
          target_project: '*',
          action: 'access_as_external',
        },
        { project_id: 'p-net-shared', object_type: 'network', object_id: 'net-shared', target_project: '*', action: 'access_as_shared' },
      ]);
      const columns = await columnsOf(db, 'networks');
      assert.ok(!columns.includes('shared'), columns.join());
      assert.ok(columns.includes('router_external'));
    },
  );
});

test('migration 017 turns shared subnet pools and address scopes into wildcard policies', async () => {
  await upgrade(
    '016_identity_groups',
    async (old) => {
      for (const [id, shared] of [
        ['scope-shared', 1],
        ['scope-private', 0],
      ] as const) {
        await sql`insert into address_scopes (id, project_id, name, shared, ip_version)
          values (${id}, ${`p-${id}`}, ${id}, ${shared}, 4)`.execute(old);
      }
      for (const [id, shared] of [
        ['pool-shared', 1],
        ['pool-private', 0],
      ] as const) {
        await sql`insert into subnetpools (id, project_id, name, description, revision_number, created_at, updated_at, ip_version,
          default_prefixlen, min_prefixlen, max_prefixlen, shared, is_default, hash, prefixes)
          values (${id}, ${`p-${id}`}, ${id}, '', 0, ${now}, ${now}, 4, 24, 8, 32, ${shared}, 0, 'h', '["10.0.0.0/8"]')`.execute(old);
      }
    },
    async (db) => {
      const policies = await db
        .selectFrom('rbac_policies')
        .select(['project_id', 'object_type', 'object_id', 'target_project', 'action'])
        .orderBy('object_id')
        .execute();
      assert.deepEqual(policies, [
        {
          project_id: 'p-pool-shared',
          object_type: 'subnetpool',
          object_id: 'pool-shared',
          target_project: '*',
          action: 'access_as_shared',
        },
        {
          project_id: 'p-scope-shared',
          object_type: 'address_scope',
          object_id: 'scope-shared',
          target_project: '*',
          action: 'access_as_shared',
        },
      ]);
      for (const table of ['subnetpools', 'address_scopes']) {
        const columns = await columnsOf(db, table);
        assert.ok(!columns.includes('shared'), columns.join());
        assert.ok(columns.includes('ip_version'));
      }
    },
  );
});
