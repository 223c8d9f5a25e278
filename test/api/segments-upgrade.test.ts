// Migration 019 on a store that already has networks: each network's segment becomes its first row
// of network_segments, the networks table keeps everything else (and what refers to it: subnets,
// ports, VLAN allocations, foreign keys still enforced), and a segment stays unique — on SQLite
// and (with-postgres.ts) PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { migrations } from '../../src/store/migrations/index.ts';
import { openDb } from '../../src/store/db.ts';
import { upgradeStore } from '../helpers/upgrade.ts';

const now = '2026-01-01T00:00:00Z';

async function seedBefore019(db: Kysely<unknown>): Promise<void> {
  for (const [id, type, physnet, segid, key] of [
    ['net-vxlan', 'vxlan', null, 41, 'vxlan:41'],
    ['net-flat', 'flat', 'provider', null, 'flat:provider'],
    ['net-vlan', 'vlan', 'physnet1', 100, 'vlan:physnet1:100'],
  ] as const) {
    await sql`insert into networks (id, project_id, name, description, revision_number, created_at, updated_at, admin_state_up,
      status, router_external, mtu, port_security_enabled, network_type, physical_network, segmentation_id, segment_key,
      availability_zone_hints)
      values (${id}, 'p1', ${id}, 'd', 3, ${now}, ${now}, 1, 'ACTIVE', 0, 1450, 1, ${type}, ${physnet}, ${segid}, ${key}, '["nova"]')`.execute(
      db,
    );
  }
  await sql`insert into ml2_vlan_allocations (physical_network, vlan_id, network_id) values ('physnet1', 100, 'net-vlan')`.execute(db);
  await sql`insert into subnets (id, project_id, name, description, revision_number, created_at, updated_at, network_id, ip_version,
    cidr, gateway_ip, enable_dhcp, allocation_pools, dns_nameservers, host_routes)
    values ('sub-1', 'p1', 's', '', 0, ${now}, ${now}, 'net-vxlan', 4, '10.0.0.0/24', '10.0.0.1', 1, '[]', '[]', '[]')`.execute(db);
}

test('migration 019 moves each network’s segment into network_segments and keeps the rest', async () => {
  const { stateDir, engine, dialect, cleanup } = await upgradeStore('neutrino-segments-upgrade-');
  try {
    const old = new Kysely<unknown>({ dialect });
    const { error } = await new Migrator({ db: old, provider: { getMigrations: async () => migrations } }).migrateTo('016_identity_groups');
    assert.equal(error, undefined);
    await seedBefore019(old);
    await old.destroy();

    const db = await openDb({ stateDir, engine });
    try {
      const segments = await db
        .selectFrom('network_segments')
        .select(['network_id', 'network_type', 'physical_network', 'segmentation_id', 'segment_key', 'segment_index', 'name', 'created_at'])
        .orderBy('network_id')
        .execute();
      assert.deepEqual(segments, [
        {
          network_id: 'net-flat',
          network_type: 'flat',
          physical_network: 'provider',
          segmentation_id: null,
          segment_key: 'flat:provider',
          segment_index: 0,
          name: null,
          created_at: now,
        },
        {
          network_id: 'net-vlan',
          network_type: 'vlan',
          physical_network: 'physnet1',
          segmentation_id: 100,
          segment_key: 'vlan:physnet1:100',
          segment_index: 0,
          name: null,
          created_at: now,
        },
        {
          network_id: 'net-vxlan',
          network_type: 'vxlan',
          physical_network: null,
          segmentation_id: 41,
          segment_key: 'vxlan:41',
          segment_index: 0,
          name: null,
          created_at: now,
        },
      ]);
      const columns = (await db.introspection.getTables()).find((t) => t.name === 'networks')!.columns.map((c) => c.name);
      for (const gone of ['network_type', 'physical_network', 'segmentation_id', 'segment_key'])
        assert.ok(!columns.includes(gone), columns.join());
      const vxlan = await db.selectFrom('networks').selectAll().where('id', '=', 'net-vxlan').executeTakeFirstOrThrow();
      assert.equal(vxlan.description, 'd');
      assert.equal(vxlan.revision_number, 3);
      assert.equal(vxlan.availability_zone_hints, '["nova"]');
      assert.equal((await db.selectFrom('subnets').select('network_id').executeTakeFirstOrThrow()).network_id, 'net-vxlan');

      // Still enforced: a subnet's network must exist, a segment is one network's, a network's delete takes its segments and VLAN.
      await assert.rejects(
        sql`insert into subnets (id, project_id, name, description, revision_number, created_at, updated_at, network_id, ip_version,
          cidr, gateway_ip, enable_dhcp, allocation_pools, dns_nameservers, host_routes)
          values ('sub-2', 'p1', 's', '', 0, ${now}, ${now}, 'no-such-net', 4, '10.0.1.0/24', null, 1, '[]', '[]', '[]')`.execute(db),
      );
      await assert.rejects(
        db
          .insertInto('network_segments')
          .values({ ...segments[2]!, id: 'dup', network_id: 'net-flat', description: '', revision_number: 0, updated_at: now })
          .execute(),
      );
      await db.deleteFrom('networks').where('id', '=', 'net-vlan').execute();
      assert.equal((await db.selectFrom('network_segments').select('id').where('network_id', '=', 'net-vlan').execute()).length, 0);
      assert.equal((await db.selectFrom('ml2_vlan_allocations').select('vlan_id').execute()).length, 0);
    } finally {
      await db.destroy();
    }
  } finally {
    await cleanup();
  }
});
