// The whole database as Kysely sees it.
import type { IdentityTables } from './identity.js';
import type { NetworkingTables } from './networking.js';
import type { RbacTables } from './rbac.js';

export type * from './identity.js';
export type * from './networking.js';
export type * from './rbac.js';

export interface Database extends IdentityTables, NetworkingTables, RbacTables {}
