// Quotas: per-project limits with Neutron's defaults, usage counts, and enforcement on create.
import { unwrapBody } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, echo, NeutronError, policyDenied } from '../model/errors.ts';
import { show } from '../model/validators.ts';
import type { Tx } from './common.ts';
import { prepared } from '../store/prepared.ts';
import { QUOTA_DEFAULTS, QUOTA_RESOURCES, type QuotaResource } from './quota-defaults.ts';

export { QUOTA_DEFAULTS, QUOTA_RESOURCES, type QuotaResource } from './quota-defaults.ts';

/**
 * The limits of projects without their own: the server's [quotas] options, set once as it starts
 * (each API process has one server; a server started without them puts Neutron's defaults back).
 */
let defaults: Record<QuotaResource, number> = { ...QUOTA_DEFAULTS };

export function setQuotaDefaults(next: Record<QuotaResource, number>): void {
  defaults = { ...next };
}

const TABLE = {
  network: 'networks',
  subnet: 'subnets',
  port: 'ports',
  router: 'routers',
  floatingip: 'floatingips',
  security_group: 'security_groups',
  security_group_rule: 'security_group_rules',
  subnetpool: 'subnetpools',
  rbac_policy: 'rbac_policies',
} as const;

const quotaRows = prepared((db, v: { project: string }) => db.selectFrom('quotas').selectAll().where('project_id', '=', v.project));

export async function limits(tx: Tx, projectId: string): Promise<Record<QuotaResource, number>> {
  const { rows } = await quotaRows(tx, { project: projectId });
  const out = { ...defaults };
  for (const r of rows) if (r.resource in out) out[r.resource as QuotaResource] = r.limit;
  return out;
}

export async function usage(tx: Tx, projectId: string, resource: QuotaResource): Promise<number> {
  const row = await tx
    .selectFrom(TABLE[resource])
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Refuses a create that would take the project past its limit (negative limit = unlimited). */
export async function enforceQuota(tx: Tx, projectId: string, resource: QuotaResource, adding = 1): Promise<void> {
  if (!projectId) return; // service-owned objects (router gateway, floating IP ports) are not counted
  const limit = (await limits(tx, projectId))[resource];
  if (limit < 0) return;
  if ((await usage(tx, projectId, resource)) + adding > limit) {
    throw new NeutronError(409, 'OverQuota', `Quota exceeded for resources: ['${resource}'].`);
  }
}

function requireAdmin(ctx: AuthContext, action: string) {
  if (!ctx.isAdmin) throw policyDenied(`rule:${action}`);
}

/** GET /quotas: the projects that have non-default limits (admin). */
export async function listQuotas(tx: Tx, ctx: AuthContext) {
  requireAdmin(ctx, 'get_quota');
  const rows = await tx.selectFrom('quotas').select('project_id').distinct().execute();
  return Promise.all(rows.map(async (r) => ({ ...(await limits(tx, r.project_id)), project_id: r.project_id, tenant_id: r.project_id })));
}

/** Another project's quotas (limits, defaults, details) are the admin's to read. */
function checkReadable(ctx: AuthContext, projectId: string) {
  if (!ctx.isAdmin && projectId !== ctx.projectId) throw policyDenied('rule:get_quota');
}

export async function showQuota(tx: Tx, ctx: AuthContext, projectId: string) {
  checkReadable(ctx, projectId);
  return limits(tx, projectId);
}

/** GET /quotas/{project}/default */
export function defaultQuota(ctx: AuthContext, projectId: string) {
  checkReadable(ctx, projectId);
  return { ...defaults };
}

export async function quotaDetails(tx: Tx, ctx: AuthContext, projectId: string) {
  const lim = await showQuota(tx, ctx, projectId);
  const out: Record<string, { limit: number; used: number; reserved: number }> = {};
  for (const r of QUOTA_RESOURCES) out[r] = { limit: lim[r], used: await usage(tx, projectId, r), reserved: 0 };
  return out;
}

/** DB_INTEGER_MAX_VALUE: the largest limit a quota may hold. */
const QUOTA_MAX = 2 ** 31 - 1;

/** Quota body values: convert_to_int, then type:range [-1, DB_INTEGER_MAX_VALUE] (quotasv2 attribute map). */
function quotaValue(resource: string, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) {
    throw new NeutronError(400, 'InvalidInput', `Invalid input for operation: '${show(v)}' is not an integer.`);
  }
  if (n < -1) throw badRequest(`Invalid input for ${resource}. Reason: '${n}' is too small - must be at least '-1'.`);
  if (n > QUOTA_MAX)
    throw badRequest(`Invalid input for ${resource}. Reason: '${n}' is too large - must be no larger than '${QUOTA_MAX}'.`);
  return n;
}

/** check_limit / force: booleans, given as JSON booleans or as text ('True', '1'). */
function flag(v: unknown): boolean {
  if (typeof v === 'string') return ['true', '1'].includes(v.toLowerCase());
  return v === true || v === 1;
}

export async function updateQuota(tx: Tx, ctx: AuthContext, projectId: string, body: unknown) {
  requireAdmin(ctx, 'update_quota');
  const given = unwrapBody(body, 'quota');
  const unknown = Object.keys(given).filter((k) => k !== 'check_limit' && k !== 'force' && !Object.hasOwn(QUOTA_DEFAULTS, k));
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${echo(unknown.join(', '))}'`);
  // With check_limit a limit below what the project already uses is refused — unless forced
  // (quota-check-limit, neutron/extensions/quotasv2.py::update).
  const checkLimit = flag(given.check_limit) && !flag(given.force);
  const updates: Array<[QuotaResource, number]> = [];
  for (const [k, v] of Object.entries(given)) {
    if (k === 'check_limit' || k === 'force') continue;
    const n = quotaValue(k, v);
    if (checkLimit && n >= 0) {
      const used = await usage(tx, projectId, k as QuotaResource);
      if (n < used) throw badRequest(`Quota limit ${n} for ${k} must be greater than or equal to already used ${used}`);
    }
    updates.push([k as QuotaResource, n]);
  }
  for (const [resource, limit] of updates) {
    await tx
      .insertInto('quotas')
      .values({ project_id: projectId, resource, limit })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ limit }))
      .execute();
  }
  return limits(tx, projectId);
}

export async function resetQuota(tx: Tx, ctx: AuthContext, projectId: string) {
  requireAdmin(ctx, 'delete_quota');
  await tx.deleteFrom('quotas').where('project_id', '=', projectId).execute();
}
