// Lists in SQL: equality filters, sort keys and limit/marker paging pushed into the query, so a page
// loads and converts only its own rows. Matches model/query.ts (the in-memory rules) row for row:
// repeated values OR'ed, booleans as 0/1, id the last sort key, text in byte order on both engines.
import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { isPostgres } from '../store/dialect.ts';
import { withIdLast, type ListQuery } from '../model/query.ts';
import type { Database } from '../store/schema/index.ts';
import type { AuthContext } from '../model/context.ts';
import type { Item, ItemPage, Tx } from './common.ts';

/** How an attribute is stored: a NOT NULL column of text, a 0/1 integer for booleans, or an integer. */
export interface Column {
  column: string;
  kind: 'text' | 'bool' | 'int';
}

/** A filter that needs more than a column comparison (a join table), built from its wanted values. */
export type FilterBuilder = (values: unknown[], tx: Tx) => Expression<SqlBool> | null;

export const textColumn = (column: string): Column => ({ column, kind: 'text' });
export const boolColumn = (column: string): Column => ({ column, kind: 'bool' });

/**
 * A filter on a column that may hold NULL: an OR of non-empty strings, or null (left to memory) for
 * any other value; an empty value also matches NULL in memory (model/query.ts), which `in` would not.
 */
export const nullableTextFilter =
  (table: string, column: string): FilterBuilder =>
  (values) =>
    values.length && values.every((v) => typeof v === 'string' && v !== '')
      ? sql<SqlBool>`${sql.ref(`${table}.${column}`)} in (${sql.join(values)})`
      : null;

/** The same for an integer column that may hold NULL: values that are 32-bit integers (what it can hold), or null. */
export const nullableIntFilter =
  (table: string, column: string): FilterBuilder =>
  (values) =>
    values.length && values.every((v) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31)
      ? sql<SqlBool>`${sql.ref(`${table}.${column}`)} in (${sql.join(values)})`
      : null;

/** The columns every resource table has (the migrations' standard()). */
export const standardColumns: Record<string, Column> = {
  id: textColumn('id'),
  name: textColumn('name'),
  description: textColumn('description'),
  project_id: textColumn('project_id'),
  created_at: textColumn('created_at'),
  updated_at: textColumn('updated_at'),
  revision_number: { column: 'revision_number', kind: 'int' },
};

/** The standard columns with tenant_id, project_id's other name. */
export const projectColumns: Record<string, Column> = { ...standardColumns, tenant_id: textColumn('project_id') };

/** The same for a table without a name (rules, floating IPs). */
export const unnamedStandardColumns: Record<string, Column> = Object.fromEntries(
  Object.entries(projectColumns).filter(([attribute]) => attribute !== 'name'),
);

export interface ListTable {
  /** table name, also the alias the column references use */
  table: string;
  columns: Record<string, Column>;
  filters?: Record<string, FilterBuilder>;
}

export interface SqlPage<Row> {
  rows: Row[];
  /** rows beyond the page, and rows before the marker, in the direction of travel */
  hasMore: boolean;
  hasBefore: boolean;
}

const FALSE = sql<SqlBool>`1 = 0`;

type Query<TB extends keyof Database, O> = SelectQueryBuilder<Database, TB, O>;

const colRef = (t: ListTable, c: Column) => sql.ref(`${t.table}.${c.column}`);

/** Text in byte order: SQLite's default; PostgreSQL needs the "C" collation whatever the database's. */
const ordered = (tx: Tx, t: ListTable, c: Column): RawBuilder<unknown> =>
  c.kind === 'text' && isPostgres(tx) ? sql`${colRef(t, c)} collate "C"` : sql`${colRef(t, c)}`;

const stored = (c: Column, v: unknown): unknown => (c.kind === 'bool' ? (v ? 1 : 0) : v);

/** A column filter as model/query.ts matches it (converted values; booleans and numbers exact), or null. */
function columnFilter(t: ListTable, c: Column, values: unknown[]): Expression<SqlBool> | null {
  const typed = (v: unknown) =>
    c.kind === 'bool' ? typeof v === 'boolean' : c.kind === 'int' ? typeof v === 'number' : typeof v === 'string';
  if (!values.every(typed)) return null;
  // An integer column holds 32 bits (PostgreSQL refuses a bigger parameter): a bigger value matches nothing.
  const possible =
    c.kind === 'int' ? values.filter((v) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31) : values;
  if (!possible.length) return FALSE;
  return sql<SqlBool>`${colRef(t, c)} in (${sql.join(possible.map((v) => stored(c, v)))})`;
}

/** PostgreSQL text holds no NUL (a parameter with one is an error): such a value matches nothing there. */
const storable = (tx: Tx, v: unknown) => !(typeof v === 'string' && v.includes('\0') && isPostgres(tx));

/** The query's filters that SQL can apply, and whether that is all of them. */
export function pushFilters<TB extends keyof Database, O>(
  tx: Tx,
  t: ListTable,
  q: Query<TB, O>,
  filters: Map<string, unknown[]>,
): { query: Query<TB, O>; complete: boolean } {
  let complete = true;
  for (const [key, values] of filters) {
    const c = Object.hasOwn(t.columns, key) ? t.columns[key] : undefined;
    const custom = t.filters && Object.hasOwn(t.filters, key) ? t.filters[key] : undefined;
    const usable = values.filter((v) => storable(tx, v));
    // A custom filter need not be an OR of its values (tags=a&tags=b is an AND): one it could not be
    // given whole is left to memory.
    const cond = c ? columnFilter(t, c, usable) : custom && usable.length === values.length ? custom(usable, tx) : null;
    if (cond) q = q.where(cond);
    else complete = false;
  }
  return { query: q, complete };
}

/** The sort keys as columns, id last (the default order is id's), or null if one is not a column. */
function sortColumns(t: ListTable, sorts: ListQuery['sorts']): Array<[Column, 'asc' | 'desc']> | null {
  const keys = withIdLast(sorts);
  const out: Array<[Column, 'asc' | 'desc']> = [];
  for (const [k, dir] of keys) {
    if (!Object.hasOwn(t.columns, k)) return null;
    out.push([t.columns[k], dir]);
  }
  return out;
}

/** Rows strictly after `marker` in the given order (a keyset condition over the sort columns). */
function after(tx: Tx, t: ListTable, keys: Array<[Column, 'asc' | 'desc']>, marker: Record<string, unknown>): Expression<SqlBool> {
  const branches = keys.map(([c, dir], i) => {
    const equal = keys.slice(0, i).map(([p]) => sql`${ordered(tx, t, p)} = ${marker[p.column]}`);
    const beyond = sql`${ordered(tx, t, c)} ${sql.raw(dir === 'asc' ? '>' : '<')} ${marker[c.column]}`;
    return sql`(${sql.join([...equal, beyond], sql` and `)})`;
  });
  return sql<SqlBool>`(${sql.join(branches, sql` or `)})`;
}

const flip = (d: 'asc' | 'desc') => (d === 'asc' ? 'desc' : 'asc');

/**
 * One page of `base` (the visible rows), filtered, sorted and cut in SQL; null when a filter or sort key
 * cannot be expressed as SQL or there is no limit (the caller then does it in memory). The marker must
 * be among the visible rows, else `markerNotFound()` is thrown (Neutron's _get_<resource>).
 */
export async function sqlPage<TB extends keyof Database, O>(
  tx: Tx,
  t: ListTable,
  base: Query<TB, O>,
  q: ListQuery,
  markerNotFound: (id: string) => Error,
): Promise<SqlPage<O> | null> {
  if (q.limit === null) return null;
  const keys = sortColumns(t, q.sorts);
  if (!keys) return null;
  const { query: filtered, complete } = pushFilters(tx, t, base, q.filters);
  if (!complete) return null;
  // Paging backwards walks the reversed order; the page is turned back round at the end.
  const travel = keys.map(([c, d]) => [c, q.pageReverse ? flip(d) : d] as [Column, 'asc' | 'desc']);
  let page = filtered;
  let hasBefore = false;
  if (q.marker !== null) {
    if (!storable(tx, q.marker)) throw markerNotFound(q.marker);
    const m = (await base.where(sql<SqlBool>`${colRef(t, t.columns.id)} = ${q.marker}`).executeTakeFirst()) as
      Record<string, unknown> | undefined;
    if (!m) throw markerNotFound(q.marker);
    page = page.where(after(tx, t, travel, m));
    const back = travel.map(([c, d]) => [c, flip(d)] as [Column, 'asc' | 'desc']);
    const before = await filtered
      .where(sql<SqlBool>`(${after(tx, t, back, m)} or ${colRef(t, t.columns.id)} = ${q.marker})`)
      .limit(1)
      .execute();
    hasBefore = before.length > 0;
  }
  for (const [c, d] of travel) page = page.orderBy(sql`${ordered(tx, t, c)} ${sql.raw(d)}`);
  // One row more than the page tells whether there are more; a limit beyond any table's size is capped
  // (PostgreSQL refuses a LIMIT beyond 64 bits, SQLite one that is no integer).
  const rows = await page.limit(Math.min(q.limit, 2 ** 31) + 1).execute();
  const hasMore = rows.length > q.limit;
  const kept = rows.slice(0, q.limit);
  return { rows: q.pageReverse ? kept.reverse() : kept, hasMore, hasBefore };
}

/** A service's list and listPage: the caller's visible rows of `t`, filtered (and paged) in SQL, then rendered. */
export interface SqlListing {
  list(tx: Tx, ctx: AuthContext, filters: Map<string, unknown[]>): Promise<Item[]>;
  listPage(tx: Tx, ctx: AuthContext, q: ListQuery): Promise<ItemPage | null>;
}

export function sqlListing<TB extends keyof Database, Row>(
  t: ListTable,
  visible: (tx: Tx, ctx: AuthContext) => Query<TB, Row>,
  render: (tx: Tx, rows: Row[]) => Item[] | Promise<Item[]>,
  markerNotFound: (id: string) => Error,
): SqlListing {
  return {
    async list(tx, ctx, filters) {
      // What SQL cannot filter is left to the caller's in-memory pass over the items.
      const { query } = pushFilters(tx, t, visible(tx, ctx), filters);
      return render(tx, await query.execute());
    },
    async listPage(tx, ctx, q) {
      const page = await sqlPage(tx, t, visible(tx, ctx), q, markerNotFound);
      return page && { items: await render(tx, page.rows), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },
  };
}
