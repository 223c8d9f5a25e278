// Every schema migration, in order. Add new ones at the end; never edit a released one.
import type { Migration } from 'kysely/migration';
import * as m001 from './001_identity.js';
import * as m002 from './002_networking.js';
import * as m003 from './003_identity_hardening.js';
import * as m004 from './004_tags.js';
import * as m005 from './005_ipam_floors.js';
import * as m007 from './007_subnetpools.js';
import * as m012 from './012_application_credentials.js';
import * as m014 from './014_small_extensions.js';

export const migrations: Record<string, Migration> = {
  '001_identity': m001,
  '002_networking': m002,
  '003_identity_hardening': m003,
  '004_tags': m004,
  '005_ipam_floors': m005,
  '007_subnetpools': m007,
  '012_application_credentials': m012,
  '014_small_extensions': m014,
};
