// Metering (neutron/db/metering/metering_db.py, the `metering` extension): labels, and rules that
// count a router's traffic through its gateway to or from a prefix under a label. Admin only, as
// Neutron's policy has it. A label applies to the routers of its project, a shared label to every
// router; the L3 role realizes them as Neutron's iptables metering driver (planner/metering.ts).
// Changes reach the agents through the change feed.
import { sql } from 'kysely';
import type { ResourceSpec } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { badRequest, conflict, NeutronError, notFound, policyDenied } from '../model/errors.ts';
import { cidrsOverlap, formatCidr, formatIp, parsePrefix } from '../model/ip.ts';
import { isString, isSubnetCidr, isUuid, show, toBoolean, type Validator } from '../model/validators.ts';
import type { MeteringCounter, MeteringLabelView } from '../model/hostview.ts';
import type { MeteringLabelRow, MeteringLabelRuleRow } from '../store/schema/index.ts';
import { bool, newId, recordChange, timestamp, type Item, type ResourceService, type Tx } from './common.ts';
import { boolColumn, nullableTextFilter, sqlListing, textColumn, type ListTable } from './list-sql.ts';

const isDirection: Validator = (v) =>
  v === 'ingress' || v === 'egress' ? undefined : `'${typeof v === 'string' ? v : JSON.stringify(v)}' is not in ['ingress', 'egress']`;

export const meteringLabelSpec: ResourceSpec = {
  singular: 'metering_label',
  plural: 'metering_labels',
  path: 'metering/metering-labels',
  attributes: {
    id: { filter: true, sort: true },
    name: { post: true, default: '', validate: isString(255), filter: true, sort: true },
    description: { post: true, default: '', validate: isString(1024), filter: true, sort: true },
    shared: { post: true, default: false, convert: toBoolean, filter: true, sort: true },
  },
};

export const meteringLabelRuleSpec: ResourceSpec = {
  singular: 'metering_label_rule',
  plural: 'metering_label_rules',
  path: 'metering/metering-label-rules',
  attributes: {
    id: { filter: true, sort: true },
    metering_label_id: { post: true, required: true, validate: isUuid, filter: true, sort: true },
    direction: { post: true, required: true, validate: isDirection, filter: true, sort: true },
    excluded: { post: true, default: false, convert: toBoolean, filter: true, sort: true },
    remote_ip_prefix: { post: true, default: null, validate: (v) => (v === null ? undefined : isSubnetCidr(v)), filter: true, sort: true },
    // metering_source_and_destination_fields: checked by the plugin (validate_metering_label_rule)
    source_ip_prefix: { post: true, default: null, filter: true, sort: true },
    destination_ip_prefix: { post: true, default: null, filter: true, sort: true },
  },
};

const PREFIXES = ['remote_ip_prefix', 'source_ip_prefix', 'destination_ip_prefix'] as const;

/** Neutron's generic `Invalid` (the plugin's rule checks); Neutron leaves it unmapped (a 500), neutrino answers 400. */
const invalid = (message: string) => new NeutronError(400, 'Invalid', message);

/** validate_metering_rule_ip_address: ipaddress.ip_interface — an address or an address/length, host bits allowed. */
function checkIpInterface(field: string, v: unknown): void {
  if (v === null || v === undefined || v === '') return;
  if (!parsePrefix(v)) throw invalid(`${field}: ${show(v)} is invalid ['${show(v)}' does not appear to be an IPv4 or IPv6 interface].`);
}

/** str(netaddr.IPNetwork(v)): the address as given (host bits kept) with its length, /32 or /128 when none. */
function storedPrefix(v: unknown): string | null {
  const p = typeof v === 'string' && v ? parsePrefix(v) : null;
  return p ? `${formatIp({ version: p.version, value: p.address })}/${p.prefixLength}` : null;
}

/** validate_metering_label_rule: the deprecated remote prefix alone, or a source and/or a destination. */
function checkRulePrefixes(a: Item): void {
  for (const f of PREFIXES) checkIpInterface(f, a[f]);
  if (a.remote_ip_prefix && (a.source_ip_prefix || a.destination_ip_prefix))
    throw invalid("Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.");
  if (!a.remote_ip_prefix && !a.source_ip_prefix && !a.destination_ip_prefix)
    throw invalid(
      "You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.",
    );
}

/**
 * check_for_rule_overlaps: within a label, direction and `excluded`, two remote prefixes may not
 * overlap (Neutron compares remote_ip_prefix only; source and destination prefixes may).
 */
async function checkRuleOverlaps(tx: Tx, row: MeteringLabelRuleRow): Promise<void> {
  if (!row.remote_ip_prefix) return;
  const mine = parsePrefix(row.remote_ip_prefix)!;
  const others = await tx
    .selectFrom('metering_label_rules')
    .select('remote_ip_prefix')
    .where('metering_label_id', '=', row.metering_label_id)
    .where('direction', '=', row.direction)
    .where('excluded', '=', row.excluded)
    .where('remote_ip_prefix', 'is not', null)
    .execute();
  if (others.some((o) => cidrsOverlap(parsePrefix(o.remote_ip_prefix)!, mine)))
    throw conflict('MeteringLabelRuleOverlaps', `Metering label rule with remote_ip_prefix '${row.remote_ip_prefix}' overlaps another.`);
}

const labelNotFound = (id: string) => notFound('MeteringLabelNotFound', `Metering label '${id}' does not exist.`);
const ruleNotFound = (id: string) => notFound('MeteringLabelRuleNotFound', `Metering label rule '${id}' does not exist.`);

/** Neutron's policy: every metering call is admin_only. */
function adminOnly(ctx: AuthContext, action: string): void {
  if (!ctx.isAdmin) throw policyDenied(`rule:${action}`);
}

const labelToApi = (r: MeteringLabelRow): Item => ({
  id: r.id,
  name: r.name,
  description: r.description,
  shared: bool(r.shared),
  project_id: r.project_id,
  tenant_id: r.project_id,
});

const ruleToApi = (r: MeteringLabelRuleRow): Item => ({
  id: r.id,
  metering_label_id: r.metering_label_id,
  direction: r.direction,
  excluded: bool(r.excluded),
  remote_ip_prefix: r.remote_ip_prefix,
  source_ip_prefix: r.source_ip_prefix,
  destination_ip_prefix: r.destination_ip_prefix,
  project_id: r.project_id,
  tenant_id: r.project_id,
});

/** The labels and rules tables as lists filter, sort and page them (every row: metering is the admin's). */
const labelTable: ListTable = {
  table: 'metering_labels',
  columns: {
    id: textColumn('id'),
    name: textColumn('name'),
    description: textColumn('description'),
    shared: boolColumn('shared'),
    project_id: textColumn('project_id'),
    tenant_id: textColumn('project_id'),
  },
};
const ruleTable: ListTable = {
  table: 'metering_label_rules',
  columns: {
    id: textColumn('id'),
    metering_label_id: textColumn('metering_label_id'),
    direction: textColumn('direction'),
    excluded: boolColumn('excluded'),
    project_id: textColumn('project_id'),
    tenant_id: textColumn('project_id'),
  },
  filters: Object.fromEntries(PREFIXES.map((f) => [f, nullableTextFilter('metering_label_rules', f)])),
};

const labelListing = sqlListing(
  labelTable,
  (tx) => tx.selectFrom('metering_labels').selectAll('metering_labels'),
  (_tx, rows) => rows.map(labelToApi),
  labelNotFound,
);
const ruleListing = sqlListing(
  ruleTable,
  (tx) => tx.selectFrom('metering_label_rules').selectAll('metering_label_rules'),
  (_tx, rows) => rows.map(ruleToApi),
  ruleNotFound,
);

async function getLabel(tx: Tx, id: string): Promise<MeteringLabelRow> {
  const row = await tx.selectFrom('metering_labels').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw labelNotFound(id);
  return row;
}

async function getRule(tx: Tx, id: string): Promise<MeteringLabelRuleRow> {
  const row = await tx.selectFrom('metering_label_rules').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw ruleNotFound(id);
  return row;
}

export function meteringLabelService(): ResourceService {
  return {
    spec: meteringLabelSpec,
    async list(tx, ctx, filters) {
      adminOnly(ctx, 'get_metering_label');
      return labelListing.list(tx, ctx, filters);
    },
    async listPage(tx, ctx, q) {
      adminOnly(ctx, 'get_metering_label');
      return labelListing.listPage(tx, ctx, q);
    },
    async show(tx, ctx, id) {
      adminOnly(ctx, 'get_metering_label');
      return labelToApi(await getLabel(tx, id));
    },
    async create(tx, ctx, a) {
      adminOnly(ctx, 'create_metering_label');
      const row: MeteringLabelRow = {
        id: newId(),
        project_id: a.project_id as string,
        name: a.name as string,
        description: a.description as string,
        shared: a.shared ? 1 : 0,
      };
      await tx.insertInto('metering_labels').values(row).execute();
      await recordChange(tx, 'metering_label', row.id, 'create', row.project_id);
      return labelToApi(row);
    },
    async update(tx, ctx, id) {
      adminOnly(ctx, 'update_metering_label');
      return labelToApi(await getLabel(tx, id));
    },
    async remove(tx, ctx, id) {
      adminOnly(ctx, 'delete_metering_label');
      const row = await getLabel(tx, id);
      await tx.deleteFrom('metering_counters').where('label_id', '=', id).execute();
      await tx.deleteFrom('metering_label_rules').where('metering_label_id', '=', id).execute();
      await tx.deleteFrom('metering_labels').where('id', '=', id).execute();
      await recordChange(tx, 'metering_label', id, 'delete', row.project_id);
    },
  };
}

export function meteringLabelRuleService(): ResourceService {
  return {
    spec: meteringLabelRuleSpec,
    async list(tx, ctx, filters) {
      adminOnly(ctx, 'get_metering_label_rule');
      return ruleListing.list(tx, ctx, filters);
    },
    async listPage(tx, ctx, q) {
      adminOnly(ctx, 'get_metering_label_rule');
      return ruleListing.listPage(tx, ctx, q);
    },
    async show(tx, ctx, id) {
      adminOnly(ctx, 'get_metering_label_rule');
      return ruleToApi(await getRule(tx, id));
    },
    async create(tx, ctx, a) {
      adminOnly(ctx, 'create_metering_label_rule');
      checkRulePrefixes(a);
      const label = await getLabel(tx, a.metering_label_id as string);
      const row: MeteringLabelRuleRow = {
        id: newId(),
        project_id: a.project_id as string,
        metering_label_id: label.id,
        direction: a.direction as string,
        excluded: a.excluded ? 1 : 0,
        remote_ip_prefix: a.remote_ip_prefix ? formatCidr(parsePrefix(a.remote_ip_prefix)!) : null,
        source_ip_prefix: storedPrefix(a.source_ip_prefix),
        destination_ip_prefix: storedPrefix(a.destination_ip_prefix),
      };
      await checkRuleOverlaps(tx, row);
      await tx.insertInto('metering_label_rules').values(row).execute();
      await recordChange(tx, 'metering_label_rule', row.id, 'create', row.project_id);
      return ruleToApi(row);
    },
    async update(tx, ctx, id) {
      adminOnly(ctx, 'update_metering_label_rule');
      return ruleToApi(await getRule(tx, id));
    },
    async remove(tx, ctx, id) {
      adminOnly(ctx, 'delete_metering_label_rule');
      const row = await getRule(tx, id);
      await tx.deleteFrom('metering_label_rules').where('id', '=', id).execute();
      await recordChange(tx, 'metering_label_rule', id, 'delete', row.project_id);
    },
  };
}

/** The labels of each router (its project's and the shared ones), by router id; routers without one are absent. */
export async function meteringLabelsOf(
  tx: Tx,
  routers: ReadonlyArray<{ id: string; project_id: string }>,
): Promise<Map<string, MeteringLabelView[]>> {
  const out = new Map<string, MeteringLabelView[]>();
  if (!routers.length) return out;
  const labels = await tx.selectFrom('metering_labels').selectAll().orderBy('id').execute();
  if (!labels.length) return out;
  const rules = await tx.selectFrom('metering_label_rules').selectAll().orderBy('id').execute();
  for (const r of routers) {
    const mine = labels.filter((l) => bool(l.shared) || l.project_id === r.project_id);
    if (!mine.length) continue;
    out.set(
      r.id,
      mine.map((l) => ({
        id: l.id,
        rules: rules
          .filter((x) => x.metering_label_id === l.id)
          .map((x) => ({
            id: x.id,
            direction: x.direction as 'ingress' | 'egress',
            excluded: bool(x.excluded),
            remote_ip_prefix: x.remote_ip_prefix,
            source_ip_prefix: x.source_ip_prefix,
            destination_ip_prefix: x.destination_ip_prefix,
          })),
      })),
    );
  }
  return out;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * POST /neutrino/hosts/{host}/metering-counters: what the host's labels counted since its last
 * report (`deltas`), added to the totals per label, router and host (labels gone are ignored).
 */
export async function recordMeteringCounters(tx: Tx, host: string, body: unknown): Promise<number> {
  const list = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).deltas : undefined;
  if (!Array.isArray(list)) throw badRequest("Failed to parse request. Required attribute 'deltas' not specified");
  const deltas = list.map((c): MeteringCounter => {
    const x = (c ?? {}) as Record<string, unknown>;
    if (typeof x.label_id !== 'string' || typeof x.router_id !== 'string' || !isCount(x.packets) || !isCount(x.bytes))
      throw badRequest('Invalid input for deltas. Reason: each needs label_id, router_id, packets and bytes.');
    return { label_id: x.label_id, router_id: x.router_id, packets: x.packets, bytes: x.bytes };
  });
  if (!deltas.length) return 0;
  const labelIds = [...new Set(deltas.map((c) => c.label_id))];
  const known = new Set((await tx.selectFrom('metering_labels').select('id').where('id', 'in', labelIds).execute()).map((r) => r.id));
  const now = timestamp();
  const rows = deltas.filter((c) => known.has(c.label_id)).map((c) => ({ ...c, host, updated_at: now }));
  for (const row of rows) {
    await tx
      .insertInto('metering_counters')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['label_id', 'router_id', 'host']).doUpdateSet({
          packets: sql`metering_counters.packets + ${row.packets}`,
          bytes: sql`metering_counters.bytes + ${row.bytes}`,
          updated_at: now,
        }),
      )
      .execute();
  }
  return rows.length;
}

/** GET /neutrino/metering-counters[?label_id=…]: every reported counter, by label, router and host. */
export async function meteringCounters(tx: Tx, labelId?: string): Promise<Item[]> {
  let q = tx.selectFrom('metering_counters').selectAll().orderBy('label_id').orderBy('router_id').orderBy('host');
  if (labelId) q = q.where('label_id', '=', labelId);
  return (await q.execute()).map((r) => ({ ...r, packets: Number(r.packets), bytes: Number(r.bytes) }));
}
