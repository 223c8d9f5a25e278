// List conventions of the Networking API (neutron/api/api_common.py): filters (repeated key = OR),
// fields, sort_key/sort_dir, limit/marker/page_reverse pagination with *_links. Pure.
import { attrSpec, type ResourceSpec } from './attributes.ts';
import { badRequest, echo } from './errors.ts';
import { Invalid } from './validators.ts';

export type RawQuery = Record<string, string | string[] | undefined>;

export interface ListQuery {
  filters: Map<string, unknown[]>;
  fields: string[] | null;
  sorts: Array<[string, 'asc' | 'desc']>;
  limit: number | null;
  marker: string | null;
  pageReverse: boolean;
}

const RESERVED = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse']);
const COMMON_FILTERS = new Set(['id', 'project_id', 'tenant_id']);

/** `[a, b]` as Python prints a list of strings, capped. */
const pyList = (items: string[]) => echo(`[${items.map((k) => `'${k}'`).join(', ')}]`);

const many = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function parseListQuery(res: ResourceSpec, q: RawQuery): ListQuery {
  const filters = new Map<string, unknown[]>();
  const invalid: string[] = [];
  for (const [key, value] of Object.entries(q)) {
    if (RESERVED.has(key) || value === undefined) continue;
    const spec = attrSpec(res, key);
    if (!COMMON_FILTERS.has(key) && !(spec && spec.filter !== false)) {
      invalid.push(key);
      continue;
    }
    const convert = spec?.filterConvert ?? spec?.convert;
    const values = many(value).map((v) => {
      try {
        return convert ? convert(v) : v;
      } catch (e) {
        if (e instanceof Invalid) throw badRequest(`Invalid input for ${key}. Reason: ${e.message}.`);
        throw e;
      }
    });
    filters.set(key === 'tenant_id' ? 'project_id' : key, values);
  }
  if (invalid.length) throw badRequest(`${pyList(invalid)} is invalid attribute for filtering`);

  const keys = many(q.sort_key);
  const dirs = many(q.sort_dir);
  if (keys.length !== dirs.length && dirs.length > 0) {
    throw badRequest('The number of sort_keys and sort_dirs must be same');
  }
  const badDir = dirs.find((d) => d !== 'asc' && d !== 'desc');
  if (badDir) throw badRequest(`${pyList(dirs)} is invalid value for sort_dirs, valid value is 'asc' and 'desc'`);
  const badKeys = keys.filter((k) => !COMMON_FILTERS.has(k) && !attrSpec(res, k)?.sort);
  if (badKeys.length) throw badRequest(`${pyList(badKeys)} is invalid attribute for sort_keys`);
  const sorts = keys.map(
    (k, i) => [k === 'tenant_id' ? 'project_id' : k, (dirs[i] ?? 'asc') as 'asc' | 'desc'] as [string, 'asc' | 'desc'],
  );

  let limit: number | null = null;
  const rawLimit = many(q.limit)[0];
  if (rawLimit !== undefined) {
    if (!/^\d+$/.test(rawLimit)) throw badRequest(`Limit must be an integer 0 or greater and not '${echo(rawLimit)}'`);
    limit = Number(rawLimit) || null; // limit=0 means no limit
  }
  const fields = many(q.fields);
  return {
    filters,
    fields: fields.length ? fields : null,
    sorts,
    limit,
    marker: many(q.marker)[0] ?? null,
    pageReverse: /^(true|1)$/i.test(many(q.page_reverse)[0] ?? ''),
  };
}

type Item = Record<string, unknown>;

function matches(res: ResourceSpec, item: Item, filters: Map<string, unknown[]>): boolean {
  for (const [key, wanted] of filters) {
    const spec = attrSpec(res, key);
    if (spec?.filterItem) {
      if (!spec.filterItem(item, wanted)) return false;
      continue;
    }
    const value = item[key];
    const match = spec?.filterMatch;
    const ok = wanted.some((w) => (match ? match(value, w) : equalish(value, w)));
    if (!ok) return false;
  }
  return true;
}

function equalish(value: unknown, wanted: unknown): boolean {
  if (Array.isArray(value)) return value.some((v) => equalish(v, wanted));
  if (value === null || value === undefined) return wanted === '' || wanted === null;
  return value === wanted || String(value) === String(wanted);
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a) < String(b) ? -1 : 1;
}

export interface ListPage {
  items: Item[];
  links: Array<{ rel: 'next' | 'previous'; href: string }>;
}

/** The sort keys with id last: without sort keys the order is the id's, as a primary-key scan gives it. */
export const withIdLast = (sorts: ListQuery['sorts']) =>
  sorts.some(([k]) => k === 'id') ? sorts : [...sorts, ['id', 'asc'] as [string, 'asc']];

function comparator(sorts: ListQuery['sorts']) {
  const keys = withIdLast(sorts);
  return (x: Item, y: Item) => {
    for (const [k, dir] of keys) {
      const c = compare(x[k], y[k]);
      if (c) return dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

/**
 * Filters, sorts and pages the visible items; `fields` is applied by the caller after policy stripping.
 * `markerItem` is the marker when it is visible but not among `all` (the page starts after its place).
 */
export function applyListQuery(res: ResourceSpec, all: Item[], q: ListQuery, selfUrl: string, raw: RawQuery, markerItem?: Item): ListPage {
  const order = comparator(q.sorts);
  let items = all.filter((it) => matches(res, it, q.filters)).sort(order);
  if (q.limit === null && q.marker === null) return { items, links: [] };

  if (q.pageReverse) items = items.reverse();
  let start = 0;
  if (q.marker !== null) {
    // A marker filtered out still has a place in the order (Neutron pages by its values).
    const marker = all.find((it) => it.id === q.marker) ?? markerItem;
    const travel = (x: Item, y: Item) => (q.pageReverse ? -order(x, y) : order(x, y));
    if (marker) {
      const at = items.findIndex((it) => travel(it, marker) > 0);
      start = at >= 0 ? at : items.length;
    }
  }
  const end = q.limit === null ? items.length : start + q.limit;
  let page = items.slice(start, end);
  if (q.pageReverse) page = page.reverse();
  return { items: page, links: pageLinks(page, q, end < items.length, start > 0, selfUrl, raw) };
}

/** next/previous links of a page; `hasMore`/`hasBefore` are in the direction of travel (page_reverse walks back). */
export function pageLinks(
  page: Item[],
  q: ListQuery,
  hasMore: boolean,
  hasBefore: boolean,
  selfUrl: string,
  raw: RawQuery,
): ListPage['links'] {
  const links: ListPage['links'] = [];
  const link = (marker: string, reverse: boolean) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(raw)) {
      if (k === 'marker' || k === 'page_reverse' || v === undefined) continue;
      for (const one of many(v)) params.append(k, one);
    }
    params.set('marker', marker);
    if (reverse) params.set('page_reverse', 'True');
    return `${selfUrl}?${params.toString()}`;
  };
  if (page.length) {
    const first = String(page[0].id);
    const last = String(page[page.length - 1].id);
    const forwardMore = q.pageReverse ? hasBefore : hasMore;
    const backwardMore = q.pageReverse ? hasMore : hasBefore;
    if (forwardMore) links.push({ rel: 'next', href: link(last, false) });
    if (backwardMore) links.push({ rel: 'previous', href: link(first, true) });
  }
  return links;
}

/**
 * The attributes a list must load for `q`: null (all of them) without `fields`; else the fields, the
 * sort keys, what the filters read (a tag filter reads `tags`) and `id` (paging and markers use it).
 * Lets a service skip what nobody reads — `fields=id&fields=device_id` needs no addresses or tags.
 */
export function attributesRead(q: Pick<ListQuery, 'fields' | 'filters' | 'sorts'>): ReadonlySet<string> | null {
  if (!q.fields) return null;
  const out = new Set(['id', ...q.fields, ...q.sorts.map(([k]) => k)]);
  for (const key of q.filters.keys()) out.add(/^(not-)?tags(-any)?$/.test(key) ? 'tags' : key);
  return out;
}

/** The `fields` a show asks for (every `fields=` value), or null for all of them. */
export function fieldsOf(query: RawQuery): string[] | null {
  return query.fields === undefined ? null : many(query.fields);
}

/** Keeps only the requested fields (Neutron always honours `fields` after policy). */
export function selectFields(item: Item, fields: string[] | null): Item {
  if (!fields) return item;
  const out: Item = {};
  for (const f of fields) if (Object.hasOwn(item, f)) out[f] = item[f];
  return out;
}
