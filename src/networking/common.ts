// Shared helpers of the networking services: ids, timestamps, JSON columns, the change feed.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema/index.ts';
import { onBeforeCommit } from '../store/unit-of-work.ts';
import { appendChanges, type NewChange } from '../store/changes.ts';
import type { AuthContext } from '../model/context.ts';
import type { ResourceSpec } from '../model/attributes.ts';
import type { ListQuery } from '../model/query.ts';
import type { ReadThreads } from '../store/read-threads.ts';

/** An open transaction (a unit of work's, see store/unit-of-work.ts): every service function runs in one. */
export type Tx = Transaction<Database>;

export type Item = Record<string, unknown>;

export const newId = () => randomUUID();

/** Neutron's timestamp format: second precision, Z suffix. */
export const timestamp = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const bool = (v: number | boolean) => Boolean(v);
export const int = (v: unknown) => (v ? 1 : 0);
export const parseJson = <T>(text: string): T => JSON.parse(text) as T;

/** The changes a unit of work has recorded so far, appended to the feed just before it commits. */
const pendingChanges = new WeakMap<Tx, NewChange[]>();

/**
 * Appends to the change feed that agents watch; called inside the writing transaction. Inside a unit
 * of work the rows are held until its end, so the feed's lock is held only for the append and the
 * commit (see appendChanges).
 */
export async function recordChange(
  tx: Tx,
  resource: string,
  resourceId: string,
  op: 'create' | 'update' | 'delete' | 'status',
  projectId: string | null,
): Promise<void> {
  const row: NewChange = { resource, resource_id: resourceId, op, project_id: projectId, at: timestamp() };
  let pending = pendingChanges.get(tx);
  if (!pending) {
    const rows: NewChange[] = [];
    if (!onBeforeCommit(tx as Transaction<Database>, (t) => appendChanges(t, rows))) return appendChanges(tx, [row]);
    pendingChanges.set(tx, (pending = rows));
  }
  pending.push(row);
}

/** Fields of the standard-attributes extensions, in Neutron's names. */
export function standardFields(row: {
  project_id: string;
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}) {
  return {
    tenant_id: row.project_id,
    project_id: row.project_id,
    description: row.description,
    tags: [] as string[],
    created_at: row.created_at,
    updated_at: row.updated_at,
    revision_number: row.revision_number,
  };
}

/** A page of items in list order; `hasMore`/`hasBefore` in the direction of travel (see model/query.ts pageLinks). */
export interface ItemPage {
  items: Item[];
  hasMore: boolean;
  hasBefore: boolean;
}

/** How a whole list is read: between slices of work here it waits for `turn`; `threads` may read it off the event loop. */
export interface ListJsonReading {
  turn: () => Promise<void>;
  threads: ReadThreads | null;
}

/** One Networking API resource as the HTTP layer drives it. Writes run inside a transaction. */
export interface ResourceService {
  spec: ResourceSpec;
  /**
   * Items the caller may see, as API dicts (before attribute stripping). `filters` may be pushed down;
   * `read` (model/query.ts attributesRead), when given, names the only attributes anyone will read.
   */
  list(tx: Tx, ctx: AuthContext, filters: Map<string, unknown[]>, read?: ReadonlySet<string> | null): Promise<Item[]>;
  /**
   * One page of a limited list (filtered, sorted and cut by the database), or null when the query needs
   * the in-memory path. An unknown or invisible marker is the resource's NotFound.
   */
  listPage?(tx: Tx, ctx: AuthContext, q: ListQuery): Promise<ItemPage | null>;
  /**
   * A whole list (no fields, limit or marker) as JSON text, exactly as the items rendered for `ctx`
   * would serialise: runs of items joined by commas, in list order; null when the list needs the
   * object path. Items carry their tags already. Runs are texts, or UTF-8 bytes read by `how.threads`.
   */
  listJson?(tx: Tx, ctx: AuthContext, q: ListQuery, how: ListJsonReading): Promise<Array<string | Uint8Array> | null>;
  show(tx: Tx, ctx: AuthContext, id: string): Promise<Item>;
  /** list, listPage and show only read (no default created on first sight): they may run on a read-only connection. */
  readOnlyGets?: boolean;
  create(tx: Tx, ctx: AuthContext, attrs: Item): Promise<Item>;
  update(tx: Tx, ctx: AuthContext, id: string, attrs: Item): Promise<Item>;
  remove(tx: Tx, ctx: AuthContext, id: string): Promise<void>;
}

/** Lists pushed-down filter values for a column when the filter is a plain string match. */
export function stringFilter(filters: Map<string, unknown[]>, key: string): string[] | undefined {
  const v = filters.get(key);
  return v && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}
