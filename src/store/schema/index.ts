// The whole database as Kysely sees it.
import type { IdentityTables } from './identity.js';
import type { NetworkingTables } from './networking.js';

export type * from './identity.js';
export type * from './networking.js';

export interface Database extends IdentityTables, NetworkingTables {}
