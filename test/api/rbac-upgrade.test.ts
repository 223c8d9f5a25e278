// Migration 006 on a store that already has shared and external networks: each flag becomes the
// network's wildcard policy, owned by the network's project, and the `shared` column goes — on SQLite
// and (with-postgres.ts) PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { migrations } from '../../src/store/migrations/index.js';
import { openDb } from '../../src/store/db.js';
import { upgradeStore } from '../helpers/upgrade.js';

test('migration 006 turns shared and external flags into wildcard policies', async () => {
  const { stateDir, engine, dialect, cleanup } = await upgradeStore('neutrino-rbac-upgrade-');
  try {
    const old = new Kysely<unknown>({ dialect });
    const provider = { getMigrations: async () => migrations };
    const { error } = await new Migrator({ db: old, provider }).migrateTo('005_ipam_floors');
    assert.equal(error, undefined);
    const now = '2026-01-01T00:00:00Z';
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
    await old.destroy();

    const db = await openDb({ stateDir, engine });
    try {
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
      const columns = (await db.introspection.getTables()).find((t) => t.name === 'networks')!.columns.map((c) => c.name);
      assert.ok(!columns.includes('shared'), columns.join());
      assert.ok(columns.includes('router_external'));
    } finally {
      await db.destroy();
    }
  } finally {
    await cleanup();
  }
});
