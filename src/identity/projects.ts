// Project administration: create, list, show, update, delete, and the projects a user may scope to.
import { unitOfWork } from '../store/unit-of-work.ts';
import type { AuthContext } from '../model/context.ts';
import type { ProjectRow } from '../store/schema/index.ts';
import { DEFAULT_DOMAIN_ID, isoNow, newId, requireAdmin, type IdentityDeps } from './context.ts';
import { validationError } from './errors.ts';
import { assertUniqueName, domainById, insertUnique, projectById, userById } from './lookup.ts';
import type { ProjectCreate, ProjectUpdate } from './schemas.ts';
import { revokeTokensOf } from './revocation.ts';

export interface ProjectFilters {
  name?: string;
  domain_id?: string;
  enabled?: boolean;
}

export async function createProject(deps: IdentityDeps, caller: AuthContext, input: ProjectCreate): Promise<ProjectRow> {
  requireAdmin(caller, 'create_project');
  const domainId = input.domain_id ?? DEFAULT_DOMAIN_ID;
  await domainById(deps.db, domainId);
  if (input.is_domain) throw validationError('Projects acting as domains are not supported.');
  if (input.parent_id && input.parent_id !== domainId) throw validationError('Hierarchical projects are not supported.');
  if (input.tags?.length) throw validationError('Project tags are not supported.');
  const row: ProjectRow = {
    id: newId(),
    name: input.name,
    domain_id: domainId,
    description: input.description ?? '',
    enabled: input.enabled === false ? 0 : 1,
    created_at: isoNow(deps),
  };
  await assertUniqueName(deps.db, 'project', row.name, domainId);
  await insertUnique('project', row.name, domainId, () => deps.db.insertInto('projects').values(row).execute());
  return row;
}

export async function listProjects(deps: IdentityDeps, caller: AuthContext, filters: ProjectFilters = {}): Promise<ProjectRow[]> {
  requireAdmin(caller, 'list_projects');
  let q = deps.db.selectFrom('projects').selectAll().orderBy('name');
  if (filters.name !== undefined) q = q.where('name', '=', filters.name);
  if (filters.domain_id !== undefined) q = q.where('domain_id', '=', filters.domain_id);
  if (filters.enabled !== undefined) q = q.where('enabled', '=', filters.enabled ? 1 : 0);
  return q.execute();
}

export async function getProject(deps: IdentityDeps, caller: AuthContext, id: string): Promise<ProjectRow> {
  if (caller.projectId !== id) requireAdmin(caller, 'get_project');
  return projectById(deps.db, id);
}

/** Disabling the project revokes the tokens scoped to it; a rename re-reads their cached validations. */
export async function updateProject(deps: IdentityDeps, caller: AuthContext, id: string, patch: ProjectUpdate): Promise<ProjectRow> {
  requireAdmin(caller, 'update_project');
  const current = await projectById(deps.db, id);
  if (patch.domain_id !== undefined && patch.domain_id !== current.domain_id) {
    throw validationError('Cannot change Domain ID');
  }
  if (patch.tags?.length) throw validationError('Project tags are not supported.');
  const next: ProjectRow = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description === undefined ? current.description : (patch.description ?? ''),
    enabled: patch.enabled === undefined ? current.enabled : patch.enabled ? 1 : 0,
  };
  if (next.name !== current.name) await assertUniqueName(deps.db, 'project', next.name, current.domain_id);
  await insertUnique('project', next.name, current.domain_id, () =>
    deps.db
      .updateTable('projects')
      .set({ name: next.name, description: next.description, enabled: next.enabled })
      .where('id', '=', id)
      .execute(),
  );
  if (!next.enabled && current.enabled) await revokeTokensOf(deps, { projectId: id });
  else if (next.name !== current.name) deps.cache.invalidate((e) => e.projectId === id);
  return next;
}

/** Removes the project's role assignments and kills every token scoped to it. */
export async function deleteProject(deps: IdentityDeps, caller: AuthContext, id: string): Promise<void> {
  requireAdmin(caller, 'delete_project');
  await projectById(deps.db, id);
  await unitOfWork(deps.db, async (trx) => {
    await trx.deleteFrom('role_assignments').where('target_type', '=', 'project').where('target_id', '=', id).execute();
    await revokeTokensOf(deps, { projectId: id }, trx);
    await trx.deleteFrom('projects').where('id', '=', id).execute();
  });
}

/** GET /v3/users/{id}/projects and /v3/auth/projects: enabled projects the user or one of its groups holds a role on. */
export async function listUserProjects(deps: IdentityDeps, caller: AuthContext, userId: string): Promise<ProjectRow[]> {
  if (caller.userId !== userId) requireAdmin(caller, 'list_user_projects');
  await userById(deps.db, userId);
  return deps.db
    .selectFrom('projects')
    .selectAll()
    .where('enabled', '=', 1)
    .where((eb) =>
      eb.or([
        eb(
          'id',
          'in',
          eb.selectFrom('role_assignments').select('target_id').where('target_type', '=', 'project').where('user_id', '=', userId),
        ),
        eb(
          'id',
          'in',
          eb
            .selectFrom('group_role_assignments as ga')
            .innerJoin('group_memberships as gm', 'gm.group_id', 'ga.group_id')
            .select('ga.project_id')
            .where('gm.user_id', '=', userId),
        ),
      ]),
    )
    .orderBy('name')
    .execute();
}
