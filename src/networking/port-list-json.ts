// A whole list of ports as JSON text made by SQLite. Reading 5,000 ports into row objects, converting
// them (portToApi), stripping them for the caller and JSON.stringify-ing them cost the server more
// than half of such a list; SQLite writes each item's JSON in C and hands over one string per chunk
// of items. The text is exactly what the object path sends: the keys in portToApi's order (read off
// portToApi itself, so an attribute added there without SQL here turns this path off), strings by
// json_quote (the same escapes as JSON.stringify), the JSON columns as stored (every writer stores
// JSON.stringify's text, which JSON.stringify(JSON.parse(text)) gives back unchanged), addresses in
// table (rowid) order as the object path reads them, groups by id, tags in byte order.
import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { AuthContext } from '../model/context.ts';
import { adminReadNames, type ResourceSpec } from '../model/attributes.ts';
import type { ListQuery } from '../model/query.ts';
import type { Database, PortRow } from '../store/schema/index.ts';
import { isPostgres } from '../store/dialect.ts';
import type { ReadThreads } from '../store/read-threads.ts';
import { pushFilters, type ListTable } from './list-sql.ts';
import type { ListJsonReading, Tx } from './common.ts';

const text = (column: keyof PortRow) => `json_quote(ports.${column})`;
const bool = (column: keyof PortRow) => `(case when ports.${column} then 'true' else 'false' end)`;
/** A column holding JSON.stringify's text: the same text again. */
const stored = (column: keyof PortRow) => `ports.${column}`;
/**
 * `[` + the rows' JSON joined by commas + `]`, or `[]` without rows; the rows in `order` (an inner
 * ORDER BY the index often gives for free, where group_concat's own ORDER BY always sorts).
 */
const jsonArray = (element: string, from: string, order: string) =>
  `coalesce((select '[' || group_concat(e, ',') || ']' from (select ${element} as e from ${from} order by ${order})), '[]')`;

/** Each attribute's JSON value as an SQL expression over the `ports` row. */
const VALUES: Record<string, string> = {
  id: text('id'),
  name: text('name'),
  network_id: text('network_id'),
  admin_state_up: bool('admin_state_up'),
  mac_address: text('mac_address'),
  fixed_ips: jsonArray(
    `'{"subnet_id":' || json_quote(a.subnet_id) || ',"ip_address":' || json_quote(a.ip_address) || '}'`,
    'ip_allocations a where a.port_id = ports.id',
    'a.rowid',
  ),
  device_id: text('device_id'),
  device_owner: text('device_owner'),
  status: text('status'),
  security_groups: jsonArray('json_quote(g.security_group_id)', 'port_security_groups g where g.port_id = ports.id', 'g.security_group_id'),
  port_security_enabled: bool('port_security_enabled'),
  allowed_address_pairs: stored('allowed_address_pairs'),
  extra_dhcp_opts: stored('extra_dhcp_opts'),
  'binding:host_id': text('binding_host_id'),
  'binding:vnic_type': text('binding_vnic_type'),
  'binding:profile': stored('binding_profile'),
  'binding:vif_type': text('binding_vif_type'),
  'binding:vif_details': stored('binding_vif_details'),
  ip_allocation: `'"immediate"'`,
  numa_affinity_policy: text('numa_affinity_policy'),
  device_profile: text('device_profile'),
  tenant_id: text('project_id'),
  project_id: text('project_id'),
  description: text('description'),
  tags: jsonArray('json_quote(t.tag)', 'ports_tags t where t.resource_id = ports.id', 't.tag'),
  created_at: text('created_at'),
  updated_at: text('updated_at'),
  revision_number: 'ports.revision_number',
};

/**
 * `format('{"id":%s,…}', <id's JSON>, …)` over `keys`, or null when one of them has no SQL value. One
 * format() writes the item into one buffer; a chain of `||` would copy the growing text at each step.
 */
export function itemExpression(keys: readonly string[]): string | null {
  if (!keys.length || keys.some((k) => !Object.hasOwn(VALUES, k))) return null;
  const template = `{${keys.map((k) => `${JSON.stringify(k).replaceAll('%', '%%')}:%s`).join(',')}}`;
  return `format('${template.replaceAll("'", "''")}', ${keys.map((k) => VALUES[k]).join(', ')})`;
}

/** Items per query: a slice of work of a millisecond or two. */
const CHUNK = 250;

type PortQuery = SelectQueryBuilder<Database, 'ports', { id: string }>;

export interface PortListJson {
  spec: ResourceSpec;
  table: ListTable;
  /** The keys of a port as portToApi (with its tags) makes it, in order. */
  keys: readonly string[];
  /** The ports the caller sees, selecting `ports.id`. */
  visible: (tx: Tx, ctx: AuthContext) => PortQuery;
}

/**
 * Where the ids of `parts` parts split: even shares of the first hex digit (ids are UUIDs; any other
 * text still falls in exactly one part, only the shares are then uneven).
 */
export const idBounds = (parts: number): string[] =>
  Array.from({ length: parts - 1 }, (_, i) => Math.floor((16 * (i + 1)) / parts).toString(16));

/**
 * A whole list (no fields, limit or marker; no sort keys) as the items' JSON texts, each a run of
 * items joined by commas, in id order; null when the list needs the object path: PostgreSQL, a
 * filter SQL cannot apply, or an attribute without SQL here. With reader threads the ids are split
 * between them and read at once on one snapshot; else (or when writes keep the threads' snapshots
 * apart) read here, CHUNK items at a time with a turn between.
 */
export async function portListJson(
  tx: Tx,
  ctx: AuthContext,
  q: ListQuery,
  p: PortListJson,
  how: ListJsonReading,
): Promise<Array<string | Uint8Array> | null> {
  if (isPostgres(tx) || q.fields || q.limit !== null || q.marker !== null || q.sorts.length) return null;
  const hidden = ctx.isAdmin ? new Set<string>() : adminReadNames(p.spec);
  const item = itemExpression(p.keys.filter((k) => !hidden.has(k)));
  if (!item) return null;
  const { query, complete } = pushFilters(tx, p.table, p.visible(tx, ctx), q.filters);
  if (!complete) return null;
  // Threads not started yet: this list is read here while they start.
  const threaded = how.threads?.ready() && (await inThreads(how.threads, query, item));
  if (threaded) return threaded.filter((run) => run.length);
  const chunks: string[] = [];
  for (let last: string | null = null; ;) {
    const after: PortQuery = last === null ? query : query.where(sql<SqlBool>`ports.id > ${last}`);
    const rows = await after
      .select(sql<string>`${sql.raw(item)}`.as('item'))
      .orderBy('ports.id')
      .limit(CHUNK)
      .execute();
    if (rows.length) chunks.push(rows.map((r) => r.item).join(','));
    if (rows.length < CHUNK) break;
    last = rows[rows.length - 1].id;
    await how.turn();
  }
  return chunks;
}

/** The list's items read by the threads, each a range of ids, on one snapshot; null when they never met on one. */
function inThreads(threads: ReadThreads, query: PortQuery, item: string): Promise<Uint8Array[] | null> {
  const bounds = idBounds(threads.count);
  const parts = [null, ...bounds].map((from, i) => {
    const to = bounds[i] ?? null;
    let part = query.clearSelect().select(sql<string>`${sql.raw(item)}`.as('item'));
    if (from !== null) part = part.where(sql<SqlBool>`ports.id >= ${from}`);
    if (to !== null) part = part.where(sql<SqlBool>`ports.id < ${to}`);
    const { sql: text, parameters } = part.orderBy('ports.id').compile();
    return { sql: text, parameters: [...parameters] };
  });
  return threads.onOneSnapshot(parts);
}
