// Tags on resources (Neutron's standard-attr-tag, neutron/services/tag/tag_plugin.py): stored per
// resource table in <table>_tags, shown as each item's sorted `tags`, and the four list filters
// (neutron/objects/tag.py::_apply_tag_filters) both in SQL and in memory.
import { sql, type Expression, type SqlBool } from 'kysely';
import type { AttrMap } from '../model/attributes.ts';
import { isUniqueStringList } from '../model/validators.ts';
import { tagTableName, TAGGED_TABLES } from '../store/migrations/004_tags.ts';
import { TAGGED_TABLES_007 } from '../store/migrations/007_subnetpools.ts';
import { timestamp, type Item, type Tx } from './common.ts';
import type { FilterBuilder } from './list-sql.ts';

/** Every table that takes tags, over the migrations that added them. */
const ALL_TAGGED_TABLES = [...TAGGED_TABLES, ...TAGGED_TABLES_007] as const;

export type TaggedTable = (typeof ALL_TAGGED_TABLES)[number];

/** MAX_TAG_LEN and MAX_TAGS_COUNT of neutron/extensions/tagging.py. */
export const MAX_TAG_LEN = 255;
export const MAX_TAGS_COUNT = 50;

export const isTaggedTable = (table: string): table is TaggedTable => (ALL_TAGGED_TABLES as readonly string[]).includes(table);

const tagTable = (table: TaggedTable) => tagTableName(table) as `${TaggedTable}_tags`;

/** Byte order, as the database's primary key returns them. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The filter keys; repeated keys and comma-separated values are one set (_get_tag_list). */
export const TAG_FILTERS = ['tags', 'tags-any', 'not-tags', 'not-tags-any'] as const;
type TagFilter = (typeof TAG_FILTERS)[number];

export function tagList(values: unknown[]): string[] {
  const out = new Set<string>();
  for (const v of values) for (const t of String(v).split(',')) out.add(t);
  return [...out];
}

/** Whether a resource's tags pass one tag filter. */
export function tagsMatch(filter: TagFilter, have: readonly string[], wanted: unknown[]): boolean {
  const tags = tagList(wanted);
  const all = tags.every((t) => have.includes(t));
  const any = tags.some((t) => have.includes(t));
  if (filter === 'tags') return all;
  if (filter === 'tags-any') return any;
  if (filter === 'not-tags') return !all;
  return !any;
}

/** The `tags` attribute and its filters (TAG_ATTRIBUTE_MAP); `postable` for ports (TAG_ATTRIBUTE_MAP_PORTS). */
export function tagAttributes(postable = false): AttrMap {
  const filters = Object.fromEntries(
    TAG_FILTERS.map((f) => [
      f,
      { filter: true, filterItem: (item: Item, wanted: unknown[]) => tagsMatch(f, (item.tags as string[] | undefined) ?? [], wanted) },
    ]),
  );
  return {
    ...filters,
    tags: postable
      ? { ...filters.tags, post: true, default: [], validate: isUniqueStringList(MAX_TAG_LEN) }
      : (filters.tags as AttrMap[string]),
  };
}

/** The tag filters as SQL conditions on `table` (EXISTS over its tags table), for list-sql.ts. */
export function tagFiltersInSql(table: TaggedTable): Record<TagFilter, FilterBuilder> {
  const has = (tags: string[]) =>
    sql<SqlBool>`exists (select 1 from ${sql.table(tagTable(table))} tg where tg.resource_id = ${sql.ref(`${table}.id`)} and tg.tag in (${sql.join(tags)}))`;
  const hasAll = (tags: string[]): Expression<SqlBool> =>
    sql<SqlBool>`(${sql.join(
      tags.map((t) => has([t])),
      sql` and `,
    )})`;
  const build =
    (make: (tags: string[]) => Expression<SqlBool>): FilterBuilder =>
    (values) => {
      if (!values.every((v) => typeof v === 'string') || !values.length) return null;
      return make(tagList(values));
    };
  return {
    tags: build(hasAll),
    'tags-any': build(has),
    'not-tags': build((tags) => sql<SqlBool>`not ${hasAll(tags)}`),
    'not-tags-any': build((tags) => sql<SqlBool>`not ${has(tags)}`),
  };
}

/** Past this many resources the whole tags table is read at once (as a long list's addresses are). */
const READ_ALL_TAGS = 200;

/** The tags of each resource id, sorted (of others too, when many are asked for). */
export async function loadTags(tx: Tx, table: TaggedTable, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const all = ids.length > READ_ALL_TAGS;
  // Chunks keep the parameter count within both engines' limits.
  for (let i = 0; i < (all ? 1 : ids.length); i += 500) {
    const query = tx.selectFrom(tagTable(table)).select(['resource_id', 'tag']);
    const rows = await (all ? query : query.where('resource_id', 'in', ids.slice(i, i + 500))).execute();
    for (const r of rows) {
      const list = out.get(r.resource_id);
      if (list) list.push(r.tag);
      else out.set(r.resource_id, [r.tag]);
    }
  }
  for (const list of out.values()) list.sort(byteOrder);
  return out;
}

/** Sets each item's `tags` from the store. */
export async function attachTags<T extends Item>(tx: Tx, table: TaggedTable, items: T[]): Promise<T[]> {
  if (!items.length) return items;
  const tags = await loadTags(
    tx,
    table,
    items.map((it) => it.id as string),
  );
  for (const it of items) (it as Item).tags = tags.get(it.id as string) ?? [];
  return items;
}

export const tagsOf = async (tx: Tx, table: TaggedTable, id: string): Promise<string[]> => (await loadTags(tx, table, [id])).get(id) ?? [];

/** Adds the tags not there yet; whether any was added. */
export async function addTags(tx: Tx, table: TaggedTable, id: string, tags: Iterable<string>): Promise<boolean> {
  const have = new Set(await tagsOf(tx, table, id));
  const rows = [...new Set(tags)].filter((t) => !have.has(t)).map((tag) => ({ resource_id: id, tag }));
  if (rows.length) await tx.insertInto(tagTable(table)).values(rows).execute();
  return rows.length > 0;
}

/** Removes the given tags (all when `tags` is null); how many were removed. */
export async function removeTags(tx: Tx, table: TaggedTable, id: string, tags: string[] | null): Promise<number> {
  if (tags !== null && !tags.length) return 0;
  let q = tx.deleteFrom(tagTable(table)).where('resource_id', '=', id);
  if (tags !== null) q = q.where('tag', 'in', tags);
  const r = await q.executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** The tags become exactly `tags`; whether anything changed. */
export async function replaceTags(tx: Tx, table: TaggedTable, id: string, tags: string[]): Promise<boolean> {
  const wanted = new Set(tags);
  const gone = (await tagsOf(tx, table, id)).filter((t) => !wanted.has(t));
  const removed = await removeTags(tx, table, id, gone);
  const added = await addTags(tx, table, id, wanted);
  return removed > 0 || added;
}

/** A tag change revises the resource (Tag.revises_on_change): revision_number + 1, updated_at now. */
export async function bumpRevision(tx: Tx, table: TaggedTable, id: string): Promise<void> {
  await tx
    .updateTable(table)
    .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: timestamp() }))
    .where('id', '=', id)
    .execute();
}
