// Address scopes (neutron/db/address_scope_db.py): a family-wide space in which subnet pools' prefixes
// do not overlap; routers do not NAT between subnets of one scope. Visible to their project, admins,
// and everyone when shared (RBAC entries come with rbac-address-scope).
import { boolColumn, pushFilters, sqlPage, textColumn, type ListTable } from './list-sql.js';
import { type ResourceSpec, textAttribute } from '../model/attributes.js';
import type { AuthContext } from '../model/context.js';
import { badRequest, conflict, notFound, policyDenied } from '../model/errors.js';
import { ownerOrAdmin } from '../model/policy.js';
import { isOneOf, toBoolean, toInt } from '../model/validators.js';
import type { AddressScopeRow } from '../store/schema/index.js';
import { bool, int, newId, type Item, type ResourceService, type Tx } from './common.js';

export const addressScopeSpec: ResourceSpec = {
  singular: 'address_scope',
  plural: 'address_scopes',
  path: 'address-scopes',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    shared: { post: true, put: true, default: false, convert: toBoolean, adminSet: true, filter: true, sort: true },
    ip_version: { post: true, required: true, convert: toInt, validate: isOneOf([4, 6]), filter: true, sort: true },
  },
};

export function addressScopeToApi(row: AddressScopeRow): Item {
  return {
    id: row.id,
    name: row.name,
    tenant_id: row.project_id,
    project_id: row.project_id,
    shared: bool(row.shared),
    ip_version: row.ip_version,
  };
}

const addressScopeTable: ListTable = {
  table: 'address_scopes',
  columns: {
    id: textColumn('id'),
    name: textColumn('name'),
    project_id: textColumn('project_id'),
    shared: boolColumn('shared'),
    ip_version: { column: 'ip_version', kind: 'int' },
  },
};

export const addressScopeNotFound = (id: string) => notFound('AddressScopeNotFound', `Address scope ${id} could not be found.`);

function visibleScopes(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('address_scopes').selectAll();
  if (ctx.isAdmin) return q;
  return q.where((eb) => eb.or([eb('project_id', '=', ctx.projectId), eb('shared', '<>', 0)]));
}

/** An address scope the caller may see (its own, shared, or any for admins), or AddressScopeNotFound. */
export async function getVisibleAddressScope(tx: Tx, ctx: AuthContext, id: string): Promise<AddressScopeRow> {
  const row = await tx.selectFrom('address_scopes').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(ownerOrAdmin(ctx, row) || row.shared)) throw addressScopeNotFound(id);
  return row;
}

export function addressScopeService(): ResourceService {
  return {
    spec: addressScopeSpec,

    async list(tx, ctx, filters) {
      const { query } = pushFilters(tx, addressScopeTable, visibleScopes(tx, ctx), filters);
      return (await query.execute()).map(addressScopeToApi);
    },

    async listPage(tx, ctx, q) {
      const page = await sqlPage(tx, addressScopeTable, visibleScopes(tx, ctx), q, addressScopeNotFound);
      return page && { items: page.rows.map(addressScopeToApi), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return addressScopeToApi(await getVisibleAddressScope(tx, ctx, id));
    },

    async create(tx, ctx, a) {
      const row: AddressScopeRow = {
        id: newId(),
        project_id: a.project_id as string,
        name: a.name as string,
        shared: int(a.shared),
        ip_version: a.ip_version as number,
      };
      await tx.insertInto('address_scopes').values(row).execute();
      return addressScopeToApi(row);
    },

    async update(tx, ctx, id, a) {
      const row = await getVisibleAddressScope(tx, ctx, id);
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:update_address_scope');
      if (row.shared && a.shared === false) {
        throw badRequest(`Unable to update address scope ${id} : Shared address scope can't be unshared.`, 'AddressScopeUpdateError');
      }
      const next = { name: (a.name as string | undefined) ?? row.name, shared: 'shared' in a ? int(a.shared) : row.shared };
      await tx.updateTable('address_scopes').set(next).where('id', '=', id).execute();
      return addressScopeToApi({ ...row, ...next });
    },

    async remove(tx, ctx, id) {
      const row = await getVisibleAddressScope(tx, ctx, id);
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:delete_address_scope');
      const pool = await tx.selectFrom('subnetpools').select('id').where('address_scope_id', '=', id).executeTakeFirst();
      if (pool) {
        throw conflict(
          'AddressScopeInUse',
          `Unable to complete operation on address scope ${id}. There are one or more subnet pools in use on the address scope.`,
        );
      }
      await tx.deleteFrom('address_scopes').where('id', '=', id).execute();
    },
  };
}
