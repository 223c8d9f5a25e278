// Every schema migration, in order. Add new ones at the end; never edit a released one.
import type { Migration } from 'kysely/migration';
import * as m001 from './001_identity.ts';
import * as m002 from './002_networking.ts';
import * as m003 from './003_identity_hardening.ts';
import * as m004 from './004_tags.ts';
import * as m005 from './005_ipam_floors.ts';
import * as m006 from './006_rbac.ts';
import * as m007 from './007_subnetpools.ts';
import * as m008 from './008_misc_parity.ts';
import * as m010 from './010_vlan.ts';
import * as m012 from './012_application_credentials.ts';
import * as m013 from './013_port_forwardings.ts';
import * as m014 from './014_small_extensions.ts';
import * as m015 from './015_port_bindings.ts';
import * as m016 from './016_identity_groups.ts';
import * as m017 from './017_rbac_shared_objects.ts';
import * as m018 from './018_auto_allocate_service_types.ts';
import * as m019 from './019_network_segments.ts';
import * as m020 from './020_l3_ha.ts';
import * as m021 from './021_address_group_rules_metering.ts';
import * as m022 from './022_port_ranges_metering_prefixes.ts';
import * as m023 from './023_drop_redundant_port_index.ts';

export const migrations: Record<string, Migration> = {
  '001_identity': m001,
  '002_networking': m002,
  '003_identity_hardening': m003,
  '004_tags': m004,
  '005_ipam_floors': m005,
  '006_rbac': m006,
  '007_subnetpools': m007,
  '008_misc_parity': m008,
  '010_vlan': m010,
  '012_application_credentials': m012,
  '013_port_forwardings': m013,
  '014_small_extensions': m014,
  '015_port_bindings': m015,
  '016_identity_groups': m016,
  '017_rbac_shared_objects': m017,
  '018_auto_allocate_service_types': m018,
  '019_network_segments': m019,
  '020_l3_ha': m020,
  '021_address_group_rules_metering': m021,
  '022_port_ranges_metering_prefixes': m022,
  '023_drop_redundant_port_index': m023,
};
