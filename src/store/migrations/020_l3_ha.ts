// HA routers (l3-ha, Neutron's l3_hamode_db): a router's `ha` flag and VRRP id (router_extra_attributes),
// each L3 agent binding's HA port and the state its keepalived reported (ha_router_agent_port_bindings),
// and the HA network of each project (ha_router_networks).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('routers')
    .addColumn('ha', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('routers')
    .addColumn('ha_vr_id', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // A router may now have several agents: the table is made again with (router, agent) as its key
  // (SQLite cannot change a primary key in place).
  await db.schema
    .createTable('router_l3_agents_ha')
    .addColumn('router_id', 'text', (c) => c.notNull().references('routers.id').onDelete('cascade'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('ha_port_id', 'text')
    .addColumn('ha_state', 'text')
    .addPrimaryKeyConstraint('router_l3_agents_ha_pk', ['router_id', 'agent_id'])
    .execute();
  await sql`INSERT INTO router_l3_agents_ha (router_id, agent_id) SELECT router_id, agent_id FROM router_l3_agents`.execute(db);
  await db.schema.dropTable('router_l3_agents').execute();
  await db.schema.alterTable('router_l3_agents_ha').renameTo('router_l3_agents').execute();
  await db.schema.createIndex('router_l3_agents_agent').on('router_l3_agents').column('agent_id').execute();
  await db.schema
    .createTable('ha_router_networks')
    .addColumn('project_id', 'text', (c) => c.primaryKey())
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .execute();
}
