// Domains (read-only here): listing, and resolving a request's domain reference to an enabled domain.
import type { Db } from '../store/db.ts';
import type { DomainRow } from '../store/schema/index.ts';

export async function listDomains(db: Db, filters: { name?: string; enabled?: boolean } = {}): Promise<DomainRow[]> {
  let q = db.selectFrom('domains').selectAll().orderBy('name');
  if (filters.name !== undefined) q = q.where('name', '=', filters.name);
  if (filters.enabled !== undefined) q = q.where('enabled', '=', filters.enabled ? 1 : 0);
  return q.execute();
}

/** The id of the enabled domain a request names by id or name, or undefined. */
export async function enabledDomainId(db: Db, ref: { id?: string; name?: string }): Promise<string | undefined> {
  let q = db.selectFrom('domains').select(['id', 'enabled']);
  q = ref.id ? q.where('id', '=', ref.id) : q.where('name', '=', ref.name ?? '');
  const d = await q.executeTakeFirst();
  return d?.enabled ? d.id : undefined;
}
