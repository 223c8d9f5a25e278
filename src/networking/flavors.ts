// Service flavors and service profiles (Neutron's flavors extension, neutron/db/flavors_db.py): an
// operator offers flavors of a service; a flavor is bound to service profiles, each naming one of
// the service's provider drivers (or only operator metainfo). Flavors are readable by everyone and
// written by admins; service profiles are admin-only, and hidden (404) from everyone else.
import { prepareCreate, type ResourceSpec, textAttribute } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { conflict, NeutronError, notFound, policyDenied } from '../model/errors.ts';
import { isString, isStringOrNull, isUuid, isUuidList, toBoolean } from '../model/validators.ts';
import type { FlavorRow, ServiceProfileRow } from '../store/schema/index.ts';
import { bool, int, newId, type Item, type ResourceService, type Tx } from './common.ts';
import { L3_SERVICE_TYPE, providerByDriver } from './service-providers.ts';
import { boolColumn, nullableTextFilter, sqlListing, textColumn, type Column, type ListTable } from './list-sql.ts';

/** Plugin types neutrino has (Neutron validates service_type against its loaded plugins). */
const SERVICE_PLUGIN_TYPES = ['CORE', L3_SERVICE_TYPE, 'FLAVORS'];

const invalidServiceType = (v: unknown) =>
  new NeutronError(400, 'InvalidServiceType', `Invalid service type: ${typeof v === 'string' ? v : JSON.stringify(v)}.`);

const description = { post: true, put: true, default: '', validate: isStringOrNull(1024), filter: true, sort: true };
const enabled = { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true };

export const flavorSpec: ResourceSpec = {
  singular: 'flavor',
  plural: 'flavors',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    description,
    service_type: {
      post: true,
      required: true,
      filter: true,
      sort: true,
      convert: (v) => {
        if (typeof v !== 'string' || !SERVICE_PLUGIN_TYPES.includes(v)) throw invalidServiceType(v);
        return v;
      },
    },
    // Accepted on create and update as in Neutron's attribute map, and ignored there: bindings are
    // made through /flavors/{id}/service_profiles.
    service_profiles: { post: true, put: true, default: [], validate: isUuidList },
    enabled,
  },
};

export const serviceProfileSpec: ResourceSpec = {
  singular: 'service_profile',
  plural: 'service_profiles',
  path: 'service_profiles',
  attributes: {
    id: { filter: true, sort: true },
    description,
    driver: { post: true, put: true, default: '', validate: isString(1024), filter: true, sort: true },
    metainfo: { post: true, put: true, default: '', validate: isString(4096), sort: true },
    enabled,
  },
};

export const flavorNotFound = (id: string) => notFound('FlavorNotFound', `Flavor ${id} could not be found.`);
const serviceProfileNotFound = (id: string) => notFound('ServiceProfileNotFound', `Service Profile ${id} could not be found.`);
const bindingNotFound = (spId: string, flavorId: string) =>
  notFound('FlavorServiceProfileBindingNotFound', `Service Profile ${spId} is not associated with flavor ${flavorId}.`);
/** What Neutron's policy hook answers a non-admin for a service profile: it could not be found. */
const hidden = () => notFound('HTTPNotFound', 'The resource could not be found.');

function adminOnly(ctx: AuthContext, action: string): void {
  if (!ctx.isAdmin) throw policyDenied(`rule:${action}`);
}

/** The ids bound to each of some flavors (their profiles) or profiles (their flavors), sorted, in one query per 500. */
async function boundIds(tx: Tx, by: 'flavor_id' | 'service_profile_id', ids: readonly string[]): Promise<Map<string, string[]>> {
  const other = by === 'flavor_id' ? 'service_profile_id' : 'flavor_id';
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('flavor_service_profile_bindings')
      .select([by, other])
      .where(by, 'in', ids.slice(i, i + 500))
      .orderBy(other)
      .execute();
    for (const r of rows) out.get(r[by])!.push(r[other]);
  }
  return out;
}
const profileIdsOf = async (tx: Tx, flavorId: string) => (await boundIds(tx, 'flavor_id', [flavorId])).get(flavorId)!;
const flavorIdsOf = async (tx: Tx, profileId: string) => (await boundIds(tx, 'service_profile_id', [profileId])).get(profileId)!;

const isBound = async (tx: Tx, flavorId: string, spId: string) =>
  (await tx
    .selectFrom('flavor_service_profile_bindings')
    .select('flavor_id')
    .where('flavor_id', '=', flavorId)
    .where('service_profile_id', '=', spId)
    .executeTakeFirst()) !== undefined;

const flavorToApi = (row: FlavorRow, profiles: string[]): Item => ({
  id: row.id,
  name: row.name,
  description: row.description,
  service_type: row.service_type,
  enabled: bool(row.enabled),
  service_profiles: profiles,
});

const profileToApi = (row: ServiceProfileRow, flavors: string[]): Item => ({
  id: row.id,
  description: row.description,
  driver: row.driver,
  enabled: bool(row.enabled),
  metainfo: row.metainfo,
  flavors,
});

/** Items of flavors or profiles, each with the ids bound to it (read for all of them at once). */
const withBindings =
  <Row extends { id: string }>(by: 'flavor_id' | 'service_profile_id', toApi: (row: Row, bound: string[]) => Item) =>
  async (tx: Tx, rows: Row[]): Promise<Item[]> => {
    const bound = await boundIds(
      tx,
      by,
      rows.map((r) => r.id),
    );
    return rows.map((r) => toApi(r, bound.get(r.id)!));
  };
const flavorsToApi = withBindings('flavor_id', flavorToApi);
const profilesToApi = withBindings('service_profile_id', profileToApi);

/** The flavors or service profiles table as lists filter, sort and page it: an `enabled` flag, a description that may be NULL. */
const enabledTable = (table: 'flavors' | 'service_profiles', columns: Record<string, Column>): ListTable => ({
  table,
  columns: { id: textColumn('id'), enabled: boolColumn('enabled'), ...columns },
  filters: { description: nullableTextFilter(table, 'description') },
});
/** Flavors every caller sees; service profiles are the admin's (the service says so). */
const flavorListing = sqlListing(
  enabledTable('flavors', { name: textColumn('name'), service_type: textColumn('service_type') }),
  (tx) => tx.selectFrom('flavors').selectAll('flavors'),
  flavorsToApi,
  flavorNotFound,
);
const profileListing = sqlListing(
  enabledTable('service_profiles', { driver: textColumn('driver'), metainfo: textColumn('metainfo') }),
  (tx) => tx.selectFrom('service_profiles').selectAll('service_profiles'),
  profilesToApi,
  serviceProfileNotFound,
);

export async function getFlavor(tx: Tx, id: string): Promise<FlavorRow> {
  const row = await tx.selectFrom('flavors').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw flavorNotFound(id);
  return row;
}

async function getProfile(tx: Tx, id: string): Promise<ServiceProfileRow> {
  const row = await tx.selectFrom('service_profiles').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw serviceProfileNotFound(id);
  return row;
}

/** A non-empty driver must be one of the listed providers' (Neutron filters providers by it). */
function validateDriver(driver: string): void {
  if (!providerByDriver(driver)) throw driverNotFound(driver);
}
const driverNotFound = (driver: string) => notFound('ServiceProfileDriverNotFound', `Service Profile driver ${driver} could not be found.`);

/** Flavors still chosen by a router cannot go (Neutron's foreign key answers FlavorInUse). */
export type FlavorUse = (tx: Tx, flavorId: string) => Promise<boolean>;

export function flavorService(inUse: FlavorUse): ResourceService {
  return {
    spec: flavorSpec,
    ...flavorListing,
    async show(tx, _ctx, id) {
      return flavorToApi(await getFlavor(tx, id), await profileIdsOf(tx, id));
    },
    async create(tx, ctx, a) {
      adminOnly(ctx, 'create_flavor');
      const row: FlavorRow = {
        id: newId(),
        name: a.name as string,
        description: a.description as string | null,
        service_type: a.service_type as string,
        enabled: int(a.enabled),
      };
      await tx.insertInto('flavors').values(row).execute();
      return flavorToApi(row, []);
    },
    async update(tx, ctx, id, a) {
      adminOnly(ctx, 'update_flavor');
      const row = await getFlavor(tx, id);
      const next: FlavorRow = {
        ...row,
        name: (a.name as string | undefined) ?? row.name,
        description: 'description' in a ? (a.description as string | null) : row.description,
        enabled: 'enabled' in a ? int(a.enabled) : row.enabled,
      };
      await tx.updateTable('flavors').set(next).where('id', '=', id).execute();
      return flavorToApi(next, await profileIdsOf(tx, id));
    },
    async remove(tx, ctx, id) {
      adminOnly(ctx, 'delete_flavor');
      await getFlavor(tx, id);
      if (await inUse(tx, id)) throw conflict('FlavorInUse', `Flavor ${id} is used by some service instance.`);
      await tx.deleteFrom('flavors').where('id', '=', id).execute();
    },
  };
}

export function serviceProfileService(): ResourceService {
  return {
    spec: serviceProfileSpec,
    async list(tx, ctx, filters) {
      return ctx.isAdmin ? profileListing.list(tx, ctx, filters) : [];
    },
    async listPage(tx, ctx, q) {
      // A member sees none: the in-memory path answers (an empty list, or the marker's refusal).
      return ctx.isAdmin ? profileListing.listPage(tx, ctx, q) : null;
    },
    async show(tx, ctx, id) {
      if (!ctx.isAdmin) throw hidden();
      return profileToApi(await getProfile(tx, id), await flavorIdsOf(tx, id));
    },
    async create(tx, ctx, a) {
      adminOnly(ctx, 'create_service_profile');
      const driver = a.driver as string;
      if (driver) validateDriver(driver);
      else if (!a.metainfo) throw new NeutronError(400, 'ServiceProfileEmpty', 'Service Profile needs either a driver or metainfo.');
      const row: ServiceProfileRow = {
        id: newId(),
        description: a.description as string | null,
        driver,
        enabled: int(a.enabled),
        metainfo: a.metainfo as string,
      };
      await tx.insertInto('service_profiles').values(row).execute();
      return profileToApi(row, []);
    },
    async update(tx, ctx, id, a) {
      if (!ctx.isAdmin) throw hidden();
      if (a.driver) validateDriver(a.driver as string);
      if ((await flavorIdsOf(tx, id)).length) throw profileInUse(id);
      const row = await getProfile(tx, id);
      const next: ServiceProfileRow = {
        ...row,
        description: 'description' in a ? (a.description as string | null) : row.description,
        driver: (a.driver as string | undefined) ?? row.driver,
        enabled: 'enabled' in a ? int(a.enabled) : row.enabled,
        metainfo: (a.metainfo as string | undefined) ?? row.metainfo,
      };
      await tx.updateTable('service_profiles').set(next).where('id', '=', id).execute();
      return profileToApi(next, []);
    },
    async remove(tx, ctx, id) {
      if (!ctx.isAdmin) throw hidden();
      if ((await flavorIdsOf(tx, id)).length) throw profileInUse(id);
      await getProfile(tx, id);
      await tx.deleteFrom('service_profiles').where('id', '=', id).execute();
    },
  };
}

const bindingSpec: ResourceSpec = {
  singular: 'service_profile',
  plural: 'service_profiles',
  attributes: { id: { post: true, required: true, validate: isUuid } },
};

/** The profile id of a binding body, `{"service_profile": {"id": ...}}`, checked as Neutron's sub-resource map says. */
function bindingBodyId(body: unknown, ctx: AuthContext): string {
  return prepareCreate(bindingSpec, body, ctx).id as string;
}

const profileInUse = (id: string) => conflict('ServiceProfileInUse', `Service Profile ${id} is used by some service instance.`);

/**
 * The provider name a router created with `flavorId` gets (the L3 driver controller's
 * _get_l3_driver_by_flavor): the flavor's first bound profile must be enabled and name a provider's
 * driver. Neutron checks neither the flavor's service_type nor its `enabled` here, and neither does
 * neutrino. Any value is looked up (the attribute has no validator): null is Python's None.
 */
export async function providerOfFlavor(tx: Tx, flavorId: unknown): Promise<string> {
  const id = flavorId === null ? 'None' : String(flavorId);
  await getFlavor(tx, id);
  const [spId] = await profileIdsOf(tx, id);
  if (spId === undefined) throw bindingNotFound('', id);
  const profile = await getProfile(tx, spId);
  if (!profile.enabled) throw new NeutronError(503, 'ServiceProfileDisabled', 'Service Profile is not enabled.');
  const provider = providerByDriver(profile.driver);
  if (!provider) throw driverNotFound(profile.driver);
  return provider.name;
}

/** A router created with the flavor keeps it in use (Neutron's foreign key from routers.flavor_id). */
export const routerUsesFlavor: FlavorUse = async (tx, flavorId) =>
  (await tx.selectFrom('routers').select('id').where('flavor_id', '=', flavorId).executeTakeFirst()) !== undefined;

/** POST /flavors/{id}/service_profiles: binds a profile; answers the flavor, under `service_profile`, as Neutron does. */
export async function bindServiceProfile(tx: Tx, ctx: AuthContext, flavorId: string, body: unknown): Promise<Item> {
  const spId = bindingBodyId(body, ctx);
  adminOnly(ctx, 'create_flavor_service_profile');
  if (await isBound(tx, flavorId, spId)) {
    throw conflict('FlavorServiceProfileBindingExists', `Service Profile ${spId} is already associated with flavor ${flavorId}.`);
  }
  await getFlavor(tx, flavorId);
  await getProfile(tx, spId);
  await tx.insertInto('flavor_service_profile_bindings').values({ flavor_id: flavorId, service_profile_id: spId }).execute();
  return flavorToApi(await getFlavor(tx, flavorId), await profileIdsOf(tx, flavorId));
}

export async function showBinding(tx: Tx, flavorId: string, spId: string): Promise<Item> {
  if (!(await isBound(tx, flavorId, spId))) throw bindingNotFound(spId, flavorId);
  return { service_profile_id: spId, flavor_id: flavorId };
}

export async function unbindServiceProfile(tx: Tx, ctx: AuthContext, flavorId: string, spId: string): Promise<void> {
  adminOnly(ctx, 'delete_flavor_service_profile');
  const gone = await tx
    .deleteFrom('flavor_service_profile_bindings')
    .where('flavor_id', '=', flavorId)
    .where('service_profile_id', '=', spId)
    .executeTakeFirst();
  if (!Number(gone.numDeletedRows)) throw bindingNotFound(spId, flavorId);
}
