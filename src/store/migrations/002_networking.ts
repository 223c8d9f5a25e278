// Networking tables: networks, subnets, ports and their IP allocations, security groups, routers,
// floating IPs, quotas, agents and the change feed.
import type { CreateTableBuilder, Kysely } from 'kysely';
import { autoIncrementKey } from '../dialect.ts';

function standard<T extends string>(t: CreateTableBuilder<T, never>) {
  return t
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull());
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await standard(db.schema.createTable('networks'))
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('router_external', 'integer', (c) => c.notNull())
    .addColumn('mtu', 'integer', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('network_type', 'text', (c) => c.notNull())
    .addColumn('physical_network', 'text')
    .addColumn('segmentation_id', 'integer')
    .addColumn('segment_key', 'text', (c) => c.notNull().unique())
    .execute();
  await db.schema.createIndex('networks_project').on('networks').column('project_id').execute();

  await standard(db.schema.createTable('subnets'))
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id'))
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('cidr', 'text', (c) => c.notNull())
    .addColumn('gateway_ip', 'text')
    .addColumn('enable_dhcp', 'integer', (c) => c.notNull())
    .addColumn('allocation_pools', 'text', (c) => c.notNull())
    .addColumn('dns_nameservers', 'text', (c) => c.notNull())
    .addColumn('host_routes', 'text', (c) => c.notNull())
    .addColumn('ipv6_ra_mode', 'text')
    .addColumn('ipv6_address_mode', 'text')
    .execute();
  await db.schema.createIndex('subnets_network').on('subnets').column('network_id').execute();

  await standard(db.schema.createTable('ports'))
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id'))
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('mac_address', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('device_owner', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('binding_host_id', 'text', (c) => c.notNull())
    .addColumn('binding_vnic_type', 'text', (c) => c.notNull())
    .addColumn('binding_vif_type', 'text', (c) => c.notNull())
    .addColumn('binding_vif_details', 'text', (c) => c.notNull())
    .addColumn('binding_profile', 'text', (c) => c.notNull())
    .addColumn('allowed_address_pairs', 'text', (c) => c.notNull())
    .addColumn('extra_dhcp_opts', 'text', (c) => c.notNull())
    .addUniqueConstraint('ports_network_mac', ['network_id', 'mac_address'])
    .execute();
  await db.schema.createIndex('ports_network').on('ports').column('network_id').execute();
  await db.schema.createIndex('ports_device').on('ports').column('device_id').execute();
  await db.schema.createIndex('ports_host').on('ports').column('binding_host_id').execute();
  await db.schema.createIndex('ports_project').on('ports').column('project_id').execute();

  // The unique (subnet, address) key is what makes concurrent IPAM safe even across servers.
  await db.schema
    .createTable('ip_allocations')
    .addColumn('port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('subnet_id', 'text', (c) => c.notNull().references('subnets.id'))
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('ip_address', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('ip_allocations_pk', ['subnet_id', 'ip_address'])
    .execute();
  await db.schema.createIndex('ip_allocations_port').on('ip_allocations').column('port_id').execute();

  await standard(db.schema.createTable('security_groups'))
    .addColumn('stateful', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.createIndex('security_groups_project').on('security_groups').column('project_id').execute();
  await db.schema
    .createTable('default_security_groups')
    .addColumn('project_id', 'text', (c) => c.primaryKey())
    .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
    .execute();
  await db.schema
    .createTable('security_group_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id').onDelete('cascade'))
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('ethertype', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text')
    .addColumn('port_range_min', 'integer')
    .addColumn('port_range_max', 'integer')
    .addColumn('remote_ip_prefix', 'text')
    .addColumn('remote_group_id', 'text')
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sg_rules_group').on('security_group_rules').column('security_group_id').execute();
  await db.schema
    .createTable('port_security_groups')
    .addColumn('port_id', 'text', (c) => c.notNull().references('ports.id').onDelete('cascade'))
    .addColumn('security_group_id', 'text', (c) => c.notNull().references('security_groups.id'))
    .addPrimaryKeyConstraint('port_security_groups_pk', ['port_id', 'security_group_id'])
    .execute();
  await db.schema.createIndex('port_security_groups_group').on('port_security_groups').column('security_group_id').execute();

  await standard(db.schema.createTable('routers'))
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('gw_port_id', 'text')
    .addColumn('enable_snat', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('routes', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();

  await db.schema
    .createTable('floatingips')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('floating_network_id', 'text', (c) => c.notNull().references('networks.id'))
    .addColumn('floating_ip_address', 'text', (c) => c.notNull())
    .addColumn('floating_port_id', 'text', (c) => c.notNull())
    .addColumn('fixed_port_id', 'text')
    .addColumn('fixed_ip_address', 'text')
    .addColumn('router_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // One floating IP per (network, fixed address) — FloatingIPPortAlreadyAssociated at the store level.
  await db.schema
    .createIndex('floatingips_fixed')
    .on('floatingips')
    .columns(['floating_network_id', 'fixed_port_id', 'fixed_ip_address'])
    .unique()
    .execute();

  await db.schema
    .createTable('quotas')
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('quotas_pk', ['project_id', 'resource'])
    .execute();

  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('agent_type', 'text', (c) => c.notNull())
    .addColumn('binary', 'text', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('availability_zone', 'text')
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('configurations', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_timestamp', 'text', (c) => c.notNull())
    .addUniqueConstraint('agents_type_host', ['agent_type', 'host'])
    .execute();

  // Scheduling: which DHCP agent serves a network, which L3 agent hosts a router.
  await db.schema
    .createTable('network_dhcp_agents')
    .addColumn('network_id', 'text', (c) => c.notNull().references('networks.id').onDelete('cascade'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('network_dhcp_agents_pk', ['network_id', 'agent_id'])
    .execute();
  await db.schema
    .createTable('router_l3_agents')
    .addColumn('router_id', 'text', (c) => c.primaryKey().references('routers.id').onDelete('cascade'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .execute();

  await db.schema
    .createTable('changes')
    .addColumn('revision', 'integer', autoIncrementKey(db))
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text')
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
}
