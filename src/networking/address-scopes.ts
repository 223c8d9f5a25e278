// Address scopes (neutron/db/address_scope_db.py): a family-wide space in which subnet pools' prefixes
// do not overlap; routers do not NAT between subnets of one scope. Visible to their project, admins,
// and the projects RBAC shares them with (rbac-address-scope); `shared` is the wildcard policy.
import { pushFilters, sqlPage, textColumn, type ListTable } from './list-sql.ts';
import { type ResourceSpec, textAttribute } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, conflict, notFound, policyDenied } from '../model/errors.ts';
import { ownerOrAdmin } from '../model/policy.ts';
import { isOneOf, toBoolean, toInt } from '../model/validators.ts';
import type { AddressScopeRow } from '../store/schema/index.ts';
import { newId, type Item, type ResourceService, type Tx } from './common.ts';
import { attachWildcardPolicy, sharedObjectType } from './rbac-shared-object.ts';
import { canSeeShared, deletePoliciesOf, isSharedWithAll, ownOrSharedInSql, sharedFilterInSql, sharedWith } from './rbac-sql.ts';

const OBJECT_TYPE = 'address_scope';

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

/** `shared`: whether the scope is shared with the caller's project or everyone. */
export function addressScopeToApi(row: AddressScopeRow, shared: boolean): Item {
  return {
    id: row.id,
    name: row.name,
    tenant_id: row.project_id,
    project_id: row.project_id,
    shared,
    ip_version: row.ip_version,
  };
}

/** The scopes table as lists filter and sort it for the caller (`shared`: a policy for it). */
const addressScopeTable = (ctx: AuthContext): ListTable => ({
  table: 'address_scopes',
  columns: {
    id: textColumn('id'),
    name: textColumn('name'),
    project_id: textColumn('project_id'),
    ip_version: { column: 'ip_version', kind: 'int' },
  },
  filters: { shared: sharedFilterInSql(OBJECT_TYPE, 'address_scopes.id', ctx.projectId) },
});

export const addressScopeNotFound = (id: string) => notFound('AddressScopeNotFound', `Address scope ${id} could not be found.`);

function visibleScopes(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('address_scopes').selectAll();
  return ctx.isAdmin ? q : q.where(ownOrSharedInSql(OBJECT_TYPE, 'address_scopes', ctx.projectId));
}

/** An address scope the caller may see (its own, shared with it or everyone, or any for admins), or AddressScopeNotFound. */
export async function getVisibleAddressScope(tx: Tx, ctx: AuthContext, id: string): Promise<AddressScopeRow> {
  const row = await tx.selectFrom('address_scopes').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(await canSeeShared(tx, ctx, OBJECT_TYPE, row))) throw addressScopeNotFound(id);
  return row;
}

async function scopesToApi(tx: Tx, ctx: AuthContext, rows: AddressScopeRow[]): Promise<Item[]> {
  const shared = await sharedWith(
    tx,
    OBJECT_TYPE,
    rows.map((r) => r.id),
    ctx.projectId,
  );
  return rows.map((r) => addressScopeToApi(r, shared.has(r.id)));
}

const scopeToApi = async (tx: Tx, ctx: AuthContext, row: AddressScopeRow) => (await scopesToApi(tx, ctx, [row]))[0];

/** RBAC on address scopes: the projects with subnet pools in the scope depend on it. */
export const addressScopeRbac = sharedObjectType({
  table: 'address_scopes',
  callback: 'neutron.objects.address_scope.AddressScope.validate_rbac_policy_change',
  notFound: addressScopeNotFound,
  async boundProjects(tx, id) {
    const rows = await tx.selectFrom('subnetpools').select('project_id').where('address_scope_id', '=', id).execute();
    return new Set(rows.map((r) => r.project_id));
  },
});

export function addressScopeService(): ResourceService {
  return {
    spec: addressScopeSpec,

    async list(tx, ctx, filters) {
      const { query } = pushFilters(tx, addressScopeTable(ctx), visibleScopes(tx, ctx), filters);
      return scopesToApi(tx, ctx, await query.execute());
    },

    async listPage(tx, ctx, q) {
      const page = await sqlPage(tx, addressScopeTable(ctx), visibleScopes(tx, ctx), q, addressScopeNotFound);
      return page && { items: await scopesToApi(tx, ctx, page.rows), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    async show(tx, ctx, id) {
      return scopeToApi(tx, ctx, await getVisibleAddressScope(tx, ctx, id));
    },

    async create(tx, ctx, a) {
      const row: AddressScopeRow = {
        id: newId(),
        project_id: a.project_id as string,
        name: a.name as string,
        ip_version: a.ip_version as number,
      };
      await tx.insertInto('address_scopes').values(row).execute();
      if (a.shared) await attachWildcardPolicy(tx, ctx, addressScopeRbac, OBJECT_TYPE, row.id, row.project_id);
      return scopeToApi(tx, ctx, row);
    },

    async update(tx, ctx, id, a) {
      const row = await getVisibleAddressScope(tx, ctx, id);
      if (!ownerOrAdmin(ctx, row)) throw policyDenied('rule:update_address_scope');
      // `shared` as the caller sees it; only the wildcard policy follows the flag (update_shared).
      if (a.shared === false && (await sharedWith(tx, OBJECT_TYPE, [id], ctx.projectId)).size) {
        throw badRequest(`Unable to update address scope ${id} : Shared address scope can't be unshared.`, 'AddressScopeUpdateError');
      }
      const next = { name: (a.name as string | undefined) ?? row.name };
      await tx.updateTable('address_scopes').set(next).where('id', '=', id).execute();
      if (a.shared === true && !(await isSharedWithAll(tx, OBJECT_TYPE, id))) {
        await attachWildcardPolicy(tx, ctx, addressScopeRbac, OBJECT_TYPE, id, ctx.projectId);
      }
      return scopeToApi(tx, ctx, { ...row, ...next });
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
      await deletePoliciesOf(tx, OBJECT_TYPE, id);
      await tx.deleteFrom('address_scopes').where('id', '=', id).execute();
    },
  };
}
