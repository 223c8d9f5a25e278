// Address groups (neutron/db/address_group_db.py): a project's named set of CIDRs, which security
// group rules may name as their remote (remote_address_group_id; the agents match an IP set of its
// addresses). Addresses are normalized to network/prefixlen; add_addresses refuses ones already
// there and remove_addresses ones not there, each bumping the group's revision and telling the
// agents (their sets follow the addresses). A group a rule names is not deleted (AddressGroupInUse).
// Visible to their project, admins, and the projects RBAC shares them with (rbac-address-group);
// only the owner or an admin changes one.
import { type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, NeutronError, notFound, policyDenied } from '../model/errors.ts';
import { formatCidr, parsePrefix } from '../model/ip.ts';
import { ownerOrAdmin } from '../model/policy.ts';
import { isString, isSubnetCidr, noneToEmptyList, type Validator } from '../model/validators.ts';
import type { AddressGroupRow } from '../store/schema/index.ts';
import { newId, recordChange, standardFields, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import { sharedObjectType } from './rbac-shared-object.ts';
import { canSeeShared, deletePoliciesOf, ownOrSharedInSql } from './rbac-sql.ts';
import { projectColumns, sqlListing, type ListTable } from './list-sql.ts';

const OBJECT_TYPE = 'address_group';

/** validate_subnet_list: a list of CIDRs without duplicates. */
const isSubnetList: Validator = (v) => {
  if (!Array.isArray(v)) return `'${JSON.stringify(v)}' is not a list`;
  for (const item of v) {
    const reason = isSubnetCidr(item);
    if (reason) return reason;
  }
  const dup = v.find((x, i) => v.indexOf(x) !== i);
  return dup === undefined ? undefined : `Duplicate items in the list: '${String(dup)}'`;
};

export const addressGroupSpec: ResourceSpec = {
  singular: 'address_group',
  plural: 'address_groups',
  path: 'address-groups',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    description: { post: true, put: true, default: '', validate: isString(1024), filter: true, sort: true },
    addresses: { post: true, convert: noneToEmptyList, validate: isSubnetList },
    ...standardAttributes,
  },
};

const addressGroupNotFound = (id: string) => notFound('AddressGroupNotFound', `Address group ${id} could not be found.`);

/** Python's str() of a list of strings, as Neutron's messages print the addresses. */
const pyList = (items: string[]) => `[${items.map((a) => `'${a}'`).join(', ')}]`;

/** Each group's addresses in the database's order of addresses, in one query per 500 groups (not one per group). */
async function addressesByGroup(tx: Tx, ids: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('address_associations')
      .select(['address_group_id', 'address'])
      .where('address_group_id', 'in', ids.slice(i, i + 500))
      .orderBy('address')
      .execute();
    for (const r of rows) out.get(r.address_group_id)!.push(r.address);
  }
  return out;
}

async function groupsToApi(tx: Tx, rows: readonly AddressGroupRow[]): Promise<Item[]> {
  const addresses = await addressesByGroup(
    tx,
    rows.map((r) => r.id),
  );
  return rows.map((row) => {
    const { tags: _tags, ...standard } = standardFields(row);
    return { id: row.id, name: row.name, addresses: addresses.get(row.id)!, ...standard };
  });
}

/** One group's addresses, in the database's order of addresses. */
const addressesOf = async (tx: Tx, id: string): Promise<string[]> => (await addressesByGroup(tx, [id])).get(id)!;

const toApi = async (tx: Tx, row: AddressGroupRow): Promise<Item> => (await groupsToApi(tx, [row]))[0]!;

/** The address groups table as lists filter, sort and page it. */
const addressGroupTable: ListTable = {
  table: 'address_groups',
  columns: projectColumns,
};

/** The groups the caller sees: its project's and those shared with it, or every one for admins. */
function visibleAddressGroups(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('address_groups').selectAll('address_groups');
  return ctx.isAdmin ? q : q.where(ownOrSharedInSql(OBJECT_TYPE, 'address_groups', ctx.projectId));
}

/** An address group the caller sees (its project's, shared with it or everyone, any for admins), or AddressGroupNotFound. */
async function getAddressGroup(tx: Tx, ctx: AuthContext, id: string): Promise<AddressGroupRow> {
  const row = await tx.selectFrom('address_groups').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !(await canSeeShared(tx, ctx, OBJECT_TYPE, row))) throw addressGroupNotFound(id);
  return row;
}

/**
 * check_address_group: the group a rule names as its remote is visible to the rule's project (its
 * own, or shared with it by RBAC; any project's for an admin), or AddressGroupNotFound.
 */
export async function checkAddressGroup(tx: Tx, ctx: AuthContext, id: string, projectId: string): Promise<void> {
  const row = await tx.selectFrom('address_groups').select(['id', 'project_id']).where('id', '=', id).executeTakeFirst();
  if (!row || !(ctx.isAdmin || (await canSeeShared(tx, { ...ctx, isAdmin: false, projectId }, OBJECT_TYPE, row)))) {
    throw addressGroupNotFound(id);
  }
}

/** A group the caller may change (`rule`: admin or owner); one it only sees is the policy's 403. */
async function getOwnAddressGroup(tx: Tx, ctx: AuthContext, id: string, rule: string): Promise<AddressGroupRow> {
  const row = await getAddressGroup(tx, ctx, id);
  if (!ownerOrAdmin(ctx, row)) throw policyDenied(`rule:${rule}`);
  return row;
}

/** RBAC on address groups: the projects whose security group rules name the group depend on it. */
export const addressGroupRbac = sharedObjectType({
  table: 'address_groups',
  callback: 'neutron.objects.address_group.AddressGroup.validate_rbac_policy_change',
  notFound: addressGroupNotFound,
  async boundProjects(tx, id) {
    const rows = await tx
      .selectFrom('security_group_rules')
      .select('project_id')
      .distinct()
      .where('remote_address_group_id', '=', id)
      .execute();
    return new Set(rows.map((r) => r.project_id));
  },
});

/** netaddr.IPNetwork(addr) → "network/prefixlen": a plain address is a host prefix. */
function normalizeAddress(addr: unknown): string {
  const text = typeof addr === 'string' && !addr.includes('/') ? `${addr}/${addr.includes(':') ? 128 : 32}` : addr;
  const p = parsePrefix(text);
  if (!p) throw badRequest(`Invalid input for addresses. Reason: '${String(addr)}' is not a valid IP subnet.`);
  return formatCidr(p);
}

/** The `addresses` of an add/remove body, normalized and deduplicated. */
function requestedAddresses(body: unknown): string[] {
  const list = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).addresses : undefined;
  if (!Array.isArray(list)) throw badRequest("Failed to parse request. Required attribute 'addresses' not specified");
  return [...new Set(list.map(normalizeAddress))];
}

/** A new revision of the group; the agents hear of it (their IP sets hold its addresses). */
async function bumpRevision(tx: Tx, row: AddressGroupRow): Promise<void> {
  await tx
    .updateTable('address_groups')
    .set({ revision_number: row.revision_number + 1, updated_at: timestamp() })
    .where('id', '=', row.id)
    .execute();
  await recordChange(tx, 'address_group', row.id, 'update', row.project_id);
}

async function insertAddresses(tx: Tx, id: string, addresses: string[]): Promise<void> {
  if (addresses.length)
    await tx
      .insertInto('address_associations')
      .values(addresses.map((address) => ({ address_group_id: id, address })))
      .execute();
}

/** PUT /address-groups/{id}/add_addresses → {"address_group": ...}. */
export async function addAddresses(tx: Tx, ctx: AuthContext, id: string, body: unknown): Promise<Item> {
  const row = await getOwnAddressGroup(tx, ctx, id, 'add_addresses');
  const wanted = requestedAddresses(body);
  const present = new Set(await addressesOf(tx, id));
  const already = wanted.filter((a) => present.has(a));
  if (already.length) {
    throw new NeutronError(400, 'AddressesAlreadyExist', `Addresses ${pyList(already)} already exist in the address group ${id}.`);
  }
  await insertAddresses(tx, id, wanted);
  await bumpRevision(tx, row);
  return { address_group: await toApi(tx, await getAddressGroup(tx, ctx, id)) };
}

/** PUT /address-groups/{id}/remove_addresses → {"address_group": ...}. */
export async function removeAddresses(tx: Tx, ctx: AuthContext, id: string, body: unknown): Promise<Item> {
  const row = await getOwnAddressGroup(tx, ctx, id, 'remove_addresses');
  const wanted = requestedAddresses(body);
  const present = new Set(await addressesOf(tx, id));
  const missing = wanted.filter((a) => !present.has(a));
  if (missing.length) {
    throw notFound('AddressesNotFound', `Addresses ${pyList(missing)} not found in the address group ${id}.`);
  }
  if (wanted.length) {
    await tx.deleteFrom('address_associations').where('address_group_id', '=', id).where('address', 'in', wanted).execute();
  }
  await bumpRevision(tx, row);
  return { address_group: await toApi(tx, await getAddressGroup(tx, ctx, id)) };
}

export function addressGroupService(): ResourceService {
  return {
    spec: addressGroupSpec,

    ...sqlListing(addressGroupTable, visibleAddressGroups, groupsToApi, addressGroupNotFound),

    async show(tx, ctx, id) {
      return toApi(tx, await getAddressGroup(tx, ctx, id));
    },

    async create(tx, _ctx, a) {
      const now = timestamp();
      const row: AddressGroupRow = {
        id: newId(),
        project_id: a.project_id as string,
        name: a.name as string,
        description: a.description as string,
        revision_number: 0,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('address_groups').values(row).execute();
      // Neutron adds the addresses after creating the group: one more revision when there are any.
      if (a.addresses !== undefined) {
        const addresses = [...new Set((a.addresses as string[]).map(normalizeAddress))];
        await insertAddresses(tx, row.id, addresses);
        await bumpRevision(tx, row);
        row.revision_number += 1;
      }
      return toApi(tx, row);
    },

    async update(tx, ctx, id, a) {
      const row = await getOwnAddressGroup(tx, ctx, id, 'update_address_group');
      const next = {
        name: (a.name as string | undefined) ?? row.name,
        description: (a.description as string | undefined) ?? row.description,
        revision_number: row.revision_number + 1,
        updated_at: timestamp(),
      };
      await tx.updateTable('address_groups').set(next).where('id', '=', id).execute();
      return toApi(tx, { ...row, ...next });
    },

    async remove(tx, ctx, id) {
      await getOwnAddressGroup(tx, ctx, id, 'delete_address_group');
      const inUse = await tx.selectFrom('security_group_rules').select('id').where('remote_address_group_id', '=', id).executeTakeFirst();
      if (inUse) {
        throw new NeutronError(409, 'AddressGroupInUse', `Address group ${id} is in use on one or more security group rules.`);
      }
      await deletePoliciesOf(tx, OBJECT_TYPE, id);
      await tx.deleteFrom('address_groups').where('id', '=', id).execute();
    },
  };
}
