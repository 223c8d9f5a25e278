// Reading identity rows by id (404 when missing) and guarding unique names (Keystone's 409).
import type { Db } from '../store/db.ts';
import type { DomainRow, GroupRow, ProjectRow, RoleRow, UserRow } from '../store/schema/index.ts';
import { duplicateName, isUniqueViolation, notFoundError } from './errors.ts';

function found<T>(row: T | undefined, kind: string, id: string): T {
  if (!row) throw notFoundError(kind, id);
  return row;
}

export async function domainById(db: Db, id: string): Promise<DomainRow> {
  return found(await db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst(), 'domain', id);
}

export async function projectById(db: Db, id: string): Promise<ProjectRow> {
  return found(await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst(), 'project', id);
}

export async function userById(db: Db, id: string): Promise<UserRow> {
  return found(await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst(), 'user', id);
}

export async function groupById(db: Db, id: string): Promise<GroupRow> {
  return found(await db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst(), 'group', id);
}

export async function roleById(db: Db, id: string): Promise<RoleRow> {
  return found(await db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst(), 'role', id);
}

/** 409 if the domain already holds a project (or user) of that name. */
export async function assertUniqueName(db: Db, kind: 'project' | 'user', name: string, domainId: string): Promise<void> {
  const row = await db
    .selectFrom(kind === 'project' ? 'projects' : 'users')
    .select('id')
    .where('domain_id', '=', domainId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (row) throw duplicateName(kind, name, domainId);
}

/** Runs a write, turning a lost race on a unique name into Keystone's 409. */
export async function insertUnique(kind: string, name: string, domainId: string | undefined, write: () => Promise<unknown>) {
  try {
    await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateName(kind, name, domainId);
    throw err;
  }
}
