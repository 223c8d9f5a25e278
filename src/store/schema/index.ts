// The whole database as Kysely sees it.
import type { IdentityTables } from './identity.ts';
import type { NetworkingTables } from './networking.ts';
import type { RbacTables } from './rbac.ts';

export type * from './identity.ts';
export type * from './networking.ts';
export type * from './rbac.ts';

export interface Database extends IdentityTables, NetworkingTables, RbacTables {}
