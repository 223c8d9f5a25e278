// The Keystone v3 subset: bootstrap, password/token authentication, cached token validation, administration.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../store/db.js';
import type { DomainRow, ProjectRow, RoleRow, TokenRow, UserRow } from '../store/schema/index.js';
import { authContext, type AuthContext } from '../model/context.js';
import { decoyHash, hashPassword, verifyPassword } from './password.js';
import {
  duplicateName,
  forbiddenAction,
  isUniqueViolation,
  notFoundError,
  unauthorized,
  validationError,
} from './errors.js';
import type { AuthRequest, ProjectCreate, ProjectUpdate, RoleCreate, UserCreate, UserUpdate } from './schemas.js';

export const DEFAULT_DOMAIN_ID = 'default';
export const REGION = 'RegionOne';
/** keystone-manage bootstrap's implied roles: admin ⇒ member ⇒ reader. */
const IMPLIES: Record<string, string[]> = { admin: ['member'], member: ['reader'] };
const CACHE_MAX = 50_000;
const PURGE_EVERY_MS = 60_000;

export interface IdentityOptions {
  tokenTtlSeconds: number;
  /** Public base URL for the catalog when a caller does not pass one. */
  baseUrl?: string;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

export interface Named {
  id: string;
  name: string;
}
export interface ScopedRef extends Named {
  domain: Named;
}

export interface CatalogEndpoint {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  region: string;
  region_id: string;
  url: string;
}
export interface CatalogService {
  id: string;
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

export interface TokenBody {
  token: {
    methods: string[];
    user: ScopedRef & { password_expires_at: null };
    audit_ids: string[];
    expires_at: string;
    issued_at: string;
    project: ScopedRef;
    is_domain: false;
    roles: Named[];
    catalog: CatalogService[];
  };
}

export interface IssuedToken {
  token: string;
  body: TokenBody;
}

export interface ProjectFilters {
  name?: string;
  domain_id?: string;
  enabled?: boolean;
}
export type UserFilters = ProjectFilters;

export interface AssignmentFilters {
  userId?: string;
  projectId?: string;
  roleId?: string;
  /** Filters that can never match here (groups, domain or system scope, inheritance). */
  unsatisfiable?: boolean;
}

export interface RoleAssignment {
  role: RoleRow;
  user: UserRow & { domain: Named };
  project: ProjectRow & { domain: Named };
}

interface CacheEntry {
  ctx: AuthContext;
  expiresMs: number;
  userId: string;
  projectId: string;
}

interface LoadedToken {
  row: TokenRow;
  user: UserRow;
  userDomain: DomainRow;
  project: ProjectRow;
  projectDomain: DomainRow;
  roles: RoleRow[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const newId = () => randomUUID().replace(/-/g, '');
const auditId = () => randomBytes(16).toString('base64url');
const stableId = (seed: string) => sha256(`neutrino:${seed}`).slice(0, 32);
/** Keystone's timestamp format: `2026-11-26T16:57:21.000000Z`. */
export const keystoneTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const named = (r: { id: string; name: string }): Named => ({ id: r.id, name: r.name });

export function requireAdmin(caller: AuthContext, action: string): void {
  if (!caller.isAdmin) throw forbiddenAction(`identity:${action}`);
}

export class IdentityService {
  private readonly cache = new Map<string, CacheEntry>();
  /** Bumped on every invalidation so a validation racing with it does not cache a stale answer. */
  private generation = 0;
  private lastPurge = 0;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly opts: IdentityOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  // ---- bootstrap -------------------------------------------------------------------------------

  /** Idempotent: Default domain, admin/member/reader roles, admin project and user (password set once). */
  async bootstrap(adminPassword: string): Promise<void> {
    const hash = await hashPassword(adminPassword);
    const created = new Date(this.now()).toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('domains')
        .values({ id: DEFAULT_DOMAIN_ID, name: 'Default', description: 'The default domain', enabled: 1 })
        .onConflict((oc) => oc.doNothing())
        .execute();
      const roleIds: Record<string, string> = {};
      for (const name of ['admin', 'member', 'reader']) {
        let role = await trx.selectFrom('roles').select('id').where('name', '=', name).executeTakeFirst();
        if (!role) {
          role = { id: newId() };
          await trx.insertInto('roles').values({ id: role.id, name, domain_id: null, description: '' }).execute();
        }
        roleIds[name] = role.id;
      }
      let project = await trx
        .selectFrom('projects')
        .select('id')
        .where('domain_id', '=', DEFAULT_DOMAIN_ID)
        .where('name', '=', 'admin')
        .executeTakeFirst();
      if (!project) {
        project = { id: newId() };
        await trx
          .insertInto('projects')
          .values({
            id: project.id,
            name: 'admin',
            domain_id: DEFAULT_DOMAIN_ID,
            description: 'Bootstrap project for initializing the cloud.',
            enabled: 1,
            created_at: created,
          })
          .execute();
      }
      let user = await trx
        .selectFrom('users')
        .select('id')
        .where('domain_id', '=', DEFAULT_DOMAIN_ID)
        .where('name', '=', 'admin')
        .executeTakeFirst();
      if (!user) {
        user = { id: newId() };
        await trx
          .insertInto('users')
          .values({
            id: user.id,
            name: 'admin',
            domain_id: DEFAULT_DOMAIN_ID,
            password_hash: hash,
            enabled: 1,
            default_project_id: project.id,
            description: '',
            email: null,
            created_at: created,
          })
          .execute();
      }
      await trx
        .insertInto('role_assignments')
        .values({ target_type: 'project', target_id: project.id, user_id: user.id, role_id: roleIds.admin })
        .onConflict((oc) => oc.doNothing())
        .execute();
    });
  }

  // ---- tokens ----------------------------------------------------------------------------------

  catalog(baseUrl: string): CatalogService[] {
    const service = (type: string, name: string, url: string): CatalogService => ({
      id: stableId(type),
      type,
      name,
      endpoints: (['public', 'internal', 'admin'] as const).map((iface) => ({
        id: stableId(`${type}:${iface}`),
        interface: iface,
        region: REGION,
        region_id: REGION,
        url,
      })),
    });
    return [service('network', 'neutron', `${baseUrl}/`), service('identity', 'keystone', `${baseUrl}/identity/v3`)];
  }

  /** GET /v3/services and /v3/endpoints: the fixed catalog as administration objects (read-only). */
  listServices(caller: AuthContext, baseUrl: string): CatalogService[] {
    requireAdmin(caller, 'list_services');
    return this.catalog(baseUrl);
  }

  listEndpoints(caller: AuthContext, baseUrl: string): Array<CatalogEndpoint & { service_id: string }> {
    requireAdmin(caller, 'list_endpoints');
    return this.catalog(baseUrl).flatMap((s) => s.endpoints.map((e) => ({ ...e, service_id: s.id })));
  }

  /** POST /v3/auth/tokens: password (or token) authentication, always project-scoped. */
  async issueToken(auth: AuthRequest['auth'], baseUrl = this.opts.baseUrl ?? ''): Promise<IssuedToken> {
    const { identity } = auth;
    let user: UserRow;
    let methods: string[];
    let expiresMs: number | undefined;
    let audit = [auditId()];
    if (identity.methods.includes('password') && identity.password) {
      user = await this.passwordUser(identity.password.user);
      methods = ['password'];
    } else if (identity.methods.includes('token') && identity.token) {
      const parent = await this.loadToken(sha256(identity.token.id));
      if (!parent) throw unauthorized();
      user = parent.user;
      methods = ['token'];
      // A rescoped token keeps its parent's expiry, as in Keystone.
      expiresMs = Date.parse(parent.row.expires_at);
      audit = [audit[0], parent.row.audit_id.split(',')[0]];
    } else {
      throw unauthorized();
    }
    if (!user.enabled) throw unauthorized();

    const project = await this.scopeProject(auth.scope, user);
    const roles = await this.effectiveRoles(user.id, project.id);
    if (roles.length === 0) throw unauthorized();

    const token = randomBytes(32).toString('base64url');
    const issuedMs = this.now();
    expiresMs ??= issuedMs + this.opts.tokenTtlSeconds * 1000;
    const row: TokenRow = {
      token_hash: sha256(token),
      user_id: user.id,
      project_id: project.id,
      methods: methods.join(','),
      audit_id: audit.join(','),
      issued_at: new Date(issuedMs).toISOString(),
      expires_at: new Date(expiresMs).toISOString(),
      revoked: 0,
    };
    await this.db.insertInto('tokens').values(row).execute();
    await this.purgeExpired();
    const [userDomain, projectDomain] = await Promise.all([this.domain(user.domain_id), this.domain(project.domain_id)]);
    return { token, body: this.tokenBody({ row, user, userDomain, project, projectDomain, roles }, baseUrl) };
  }

  /** The caller of every API request: cached, so a hit costs one sha256 and a Map lookup. */
  async authenticateToken(token: string): Promise<AuthContext | null> {
    if (!token || token.length > 1024) return null;
    const hash = sha256(token);
    const now = this.now();
    const hit = this.cache.get(hash);
    if (hit) {
      if (hit.expiresMs > now) return hit.ctx;
      this.cache.delete(hash);
      return null;
    }
    const generation = this.generation;
    const loaded = await this.loadToken(hash);
    if (!loaded) return null;
    const ctx = authContext({
      userId: loaded.user.id,
      userName: loaded.user.name,
      projectId: loaded.project.id,
      projectName: loaded.project.name,
      roles: loaded.roles.map((r) => r.name),
      expiresAt: keystoneTime(Date.parse(loaded.row.expires_at)),
    });
    if (generation === this.generation) {
      if (this.cache.size >= CACHE_MAX) this.sweepCache(now);
      this.cache.set(hash, { ctx, expiresMs: Date.parse(loaded.row.expires_at), userId: ctx.userId, projectId: ctx.projectId });
    }
    return ctx;
  }

  /** GET /v3/auth/tokens: the subject token's body; admins may check any token, others their own. */
  async validateToken(caller: AuthContext, subjectToken: string, baseUrl = this.opts.baseUrl ?? ''): Promise<TokenBody> {
    const loaded = subjectToken ? await this.loadToken(sha256(subjectToken)) : null;
    if (!loaded) throw notFoundError('token', 'the X-Subject-Token');
    if (!caller.isAdmin && caller.userId !== loaded.user.id) throw forbiddenAction('identity:validate_token');
    return this.tokenBody(loaded, baseUrl);
  }

  /** DELETE /v3/auth/tokens. */
  async revokeToken(caller: AuthContext, subjectToken: string): Promise<void> {
    const hash = subjectToken ? sha256(subjectToken) : '';
    const loaded = hash ? await this.loadToken(hash) : null;
    if (!loaded) throw notFoundError('token', 'the X-Subject-Token');
    if (!caller.isAdmin && caller.userId !== loaded.user.id) throw forbiddenAction('identity:revoke_token');
    await this.db.updateTable('tokens').set({ revoked: 1 }).where('token_hash', '=', hash).execute();
    this.generation++;
    this.cache.delete(hash);
  }

  // ---- domains ---------------------------------------------------------------------------------

  async listDomains(_caller: AuthContext, filters: { name?: string; enabled?: boolean } = {}): Promise<DomainRow[]> {
    let q = this.db.selectFrom('domains').selectAll().orderBy('name');
    if (filters.name !== undefined) q = q.where('name', '=', filters.name);
    if (filters.enabled !== undefined) q = q.where('enabled', '=', filters.enabled ? 1 : 0);
    return q.execute();
  }

  async getDomain(_caller: AuthContext, id: string): Promise<DomainRow> {
    return this.domain(id);
  }

  // ---- projects --------------------------------------------------------------------------------

  async createProject(caller: AuthContext, input: ProjectCreate): Promise<ProjectRow> {
    requireAdmin(caller, 'create_project');
    const domainId = input.domain_id ?? DEFAULT_DOMAIN_ID;
    await this.domain(domainId);
    if (input.is_domain) throw validationError('Projects acting as domains are not supported.');
    if (input.parent_id && input.parent_id !== domainId) throw validationError('Hierarchical projects are not supported.');
    if (input.tags?.length) throw validationError('Project tags are not supported.');
    const row: ProjectRow = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      description: input.description ?? '',
      enabled: input.enabled === false ? 0 : 1,
      created_at: new Date(this.now()).toISOString(),
    };
    await this.assertUniqueProject(row.name, domainId);
    await this.insertUnique('project', row.name, domainId, () => this.db.insertInto('projects').values(row).execute());
    return row;
  }

  async listProjects(caller: AuthContext, filters: ProjectFilters = {}): Promise<ProjectRow[]> {
    requireAdmin(caller, 'list_projects');
    let q = this.db.selectFrom('projects').selectAll().orderBy('name');
    if (filters.name !== undefined) q = q.where('name', '=', filters.name);
    if (filters.domain_id !== undefined) q = q.where('domain_id', '=', filters.domain_id);
    if (filters.enabled !== undefined) q = q.where('enabled', '=', filters.enabled ? 1 : 0);
    return q.execute();
  }

  async getProject(caller: AuthContext, id: string): Promise<ProjectRow> {
    if (caller.projectId !== id) requireAdmin(caller, 'get_project');
    return this.project(id);
  }

  async updateProject(caller: AuthContext, id: string, patch: ProjectUpdate): Promise<ProjectRow> {
    requireAdmin(caller, 'update_project');
    const current = await this.project(id);
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
    if (next.name !== current.name) await this.assertUniqueProject(next.name, current.domain_id);
    await this.insertUnique('project', next.name, current.domain_id, () =>
      this.db
        .updateTable('projects')
        .set({ name: next.name, description: next.description, enabled: next.enabled })
        .where('id', '=', id)
        .execute(),
    );
    if (!next.enabled && current.enabled) await this.revokeTokensWhere({ projectId: id });
    else if (next.name !== current.name) this.invalidate((e) => e.projectId === id);
    return next;
  }

  /** Removes the project's role assignments and kills every token scoped to it. */
  async deleteProject(caller: AuthContext, id: string): Promise<void> {
    requireAdmin(caller, 'delete_project');
    await this.project(id);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('role_assignments').where('target_type', '=', 'project').where('target_id', '=', id).execute();
      await trx.updateTable('tokens').set({ revoked: 1 }).where('project_id', '=', id).execute();
      await trx.deleteFrom('projects').where('id', '=', id).execute();
    });
    this.invalidate((e) => e.projectId === id);
  }

  /** GET /v3/users/{id}/projects and /v3/auth/projects: enabled projects the user holds a role on. */
  async listUserProjects(caller: AuthContext, userId: string): Promise<ProjectRow[]> {
    if (caller.userId !== userId) requireAdmin(caller, 'list_user_projects');
    await this.user(userId);
    return this.db
      .selectFrom('projects')
      .selectAll()
      .where('enabled', '=', 1)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('role_assignments')
          .select('target_id')
          .where('target_type', '=', 'project')
          .where('user_id', '=', userId),
      )
      .orderBy('name')
      .execute();
  }

  // ---- users -----------------------------------------------------------------------------------

  async createUser(caller: AuthContext, input: UserCreate): Promise<UserRow> {
    requireAdmin(caller, 'create_user');
    const domainId = input.domain_id ?? DEFAULT_DOMAIN_ID;
    await this.domain(domainId);
    if (input.default_project_id) await this.project(input.default_project_id);
    const row: UserRow = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      password_hash: input.password == null ? null : await hashPassword(input.password),
      enabled: input.enabled === false ? 0 : 1,
      default_project_id: input.default_project_id ?? null,
      description: input.description ?? '',
      email: input.email ?? null,
      created_at: new Date(this.now()).toISOString(),
    };
    await this.assertUniqueUser(row.name, domainId);
    await this.insertUnique('user', row.name, domainId, () => this.db.insertInto('users').values(row).execute());
    return row;
  }

  async listUsers(caller: AuthContext, filters: UserFilters = {}): Promise<UserRow[]> {
    requireAdmin(caller, 'list_users');
    let q = this.db.selectFrom('users').selectAll().orderBy('name');
    if (filters.name !== undefined) q = q.where('name', '=', filters.name);
    if (filters.domain_id !== undefined) q = q.where('domain_id', '=', filters.domain_id);
    if (filters.enabled !== undefined) q = q.where('enabled', '=', filters.enabled ? 1 : 0);
    return q.execute();
  }

  async getUser(caller: AuthContext, id: string): Promise<UserRow> {
    if (caller.userId !== id) requireAdmin(caller, 'get_user');
    return this.user(id);
  }

  /** A password change or disabling the user revokes the user's tokens, as Keystone does. */
  async updateUser(caller: AuthContext, id: string, patch: UserUpdate): Promise<UserRow> {
    requireAdmin(caller, 'update_user');
    const current = await this.user(id);
    if (patch.domain_id !== undefined && patch.domain_id !== current.domain_id) {
      throw validationError('Cannot change Domain ID');
    }
    if (patch.default_project_id) await this.project(patch.default_project_id);
    const next: UserRow = {
      ...current,
      name: patch.name ?? current.name,
      enabled: patch.enabled === undefined ? current.enabled : patch.enabled ? 1 : 0,
      default_project_id: patch.default_project_id === undefined ? current.default_project_id : patch.default_project_id,
      description: patch.description === undefined ? current.description : (patch.description ?? ''),
      email: patch.email === undefined ? current.email : patch.email,
      password_hash:
        patch.password === undefined ? current.password_hash : patch.password === null ? null : await hashPassword(patch.password),
    };
    if (next.name !== current.name) await this.assertUniqueUser(next.name, current.domain_id);
    const { id: _id, created_at: _c, domain_id: _d, ...fields } = next;
    await this.insertUnique('user', next.name, current.domain_id, () =>
      this.db.updateTable('users').set(fields).where('id', '=', id).execute(),
    );
    if ((current.enabled && !next.enabled) || patch.password !== undefined) await this.revokeTokensWhere({ userId: id });
    else if (next.name !== current.name) this.invalidate((e) => e.userId === id);
    return next;
  }

  /** POST /v3/users/{id}/password: self-service change, proven by the original password. */
  async changePassword(caller: AuthContext, id: string, original: string, password: string): Promise<void> {
    if (caller.userId !== id) throw forbiddenAction('identity:change_password');
    const user = await this.user(id);
    const ok = await verifyPassword(original, user.password_hash ?? (await decoyHash()));
    if (!ok || !user.password_hash) throw unauthorized();
    await this.db.updateTable('users').set({ password_hash: await hashPassword(password) }).where('id', '=', id).execute();
    await this.revokeTokensWhere({ userId: id });
  }

  async deleteUser(caller: AuthContext, id: string): Promise<void> {
    requireAdmin(caller, 'delete_user');
    await this.user(id);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('role_assignments').where('user_id', '=', id).execute();
      await trx.updateTable('tokens').set({ revoked: 1 }).where('user_id', '=', id).execute();
      await trx.deleteFrom('users').where('id', '=', id).execute();
    });
    this.invalidate((e) => e.userId === id);
  }

  // ---- roles -----------------------------------------------------------------------------------

  async createRole(caller: AuthContext, input: RoleCreate): Promise<RoleRow> {
    requireAdmin(caller, 'create_role');
    if (input.domain_id) throw validationError('Domain-specific roles are not supported.');
    const row: RoleRow = { id: newId(), name: input.name, domain_id: null, description: input.description ?? '' };
    const existing = await this.db.selectFrom('roles').select('id').where('name', '=', row.name).executeTakeFirst();
    if (existing) throw duplicateName('role', row.name);
    await this.insertUnique('role', row.name, undefined, () => this.db.insertInto('roles').values(row).execute());
    return row;
  }

  async listRoles(_caller: AuthContext, filters: { name?: string } = {}): Promise<RoleRow[]> {
    let q = this.db.selectFrom('roles').selectAll().orderBy('name');
    if (filters.name !== undefined) q = q.where('name', '=', filters.name);
    return q.execute();
  }

  async getRole(_caller: AuthContext, id: string): Promise<RoleRow> {
    return this.role(id);
  }

  async deleteRole(caller: AuthContext, id: string): Promise<void> {
    requireAdmin(caller, 'delete_role');
    await this.role(id);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('role_assignments').where('role_id', '=', id).execute();
      await trx.deleteFrom('roles').where('id', '=', id).execute();
    });
    this.invalidate(() => true);
  }

  // ---- role assignments ------------------------------------------------------------------------

  async assignRole(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'create_grant');
    await this.grantTargets(projectId, userId, roleId);
    await this.db
      .insertInto('role_assignments')
      .values({ target_type: 'project', target_id: projectId, user_id: userId, role_id: roleId })
      .onConflict((oc) => oc.doNothing())
      .execute();
    this.invalidate((e) => e.userId === userId && e.projectId === projectId);
  }

  /** HEAD: resolves when the assignment exists, 404 otherwise. */
  async checkRole(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'check_grant');
    await this.grantTargets(projectId, userId, roleId);
    const row = await this.grantQuery(projectId, userId, roleId).executeTakeFirst();
    if (!row) throw this.grantNotFound(projectId, userId, roleId);
  }

  /** Tokens of the user on the project lose the role at once (and die if it was the last one). */
  async unassignRole(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'revoke_grant');
    await this.grantTargets(projectId, userId, roleId);
    const res = await this.db
      .deleteFrom('role_assignments')
      .where('target_type', '=', 'project')
      .where('target_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('role_id', '=', roleId)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw this.grantNotFound(projectId, userId, roleId);
    this.invalidate((e) => e.userId === userId && e.projectId === projectId);
  }

  /** GET /v3/projects/{p}/users/{u}/roles: the directly assigned roles. */
  async listGrants(caller: AuthContext, projectId: string, userId: string): Promise<RoleRow[]> {
    requireAdmin(caller, 'list_grants');
    await this.project(projectId);
    await this.user(userId);
    return this.directRoles(userId, projectId);
  }

  async listRoleAssignments(caller: AuthContext, filters: AssignmentFilters = {}): Promise<RoleAssignment[]> {
    requireAdmin(caller, 'list_role_assignments');
    if (filters.unsatisfiable) return [];
    let q = this.db.selectFrom('role_assignments').selectAll().where('target_type', '=', 'project');
    if (filters.userId !== undefined) q = q.where('user_id', '=', filters.userId);
    if (filters.projectId !== undefined) q = q.where('target_id', '=', filters.projectId);
    if (filters.roleId !== undefined) q = q.where('role_id', '=', filters.roleId);
    const rows = await q.execute();
    if (rows.length === 0) return [];
    const ids = (key: 'user_id' | 'target_id' | 'role_id') => [...new Set(rows.map((r) => r[key]))];
    const [users, projects, roles, domains] = await Promise.all([
      this.db.selectFrom('users').selectAll().where('id', 'in', ids('user_id')).execute(),
      this.db.selectFrom('projects').selectAll().where('id', 'in', ids('target_id')).execute(),
      this.db.selectFrom('roles').selectAll().where('id', 'in', ids('role_id')).execute(),
      this.db.selectFrom('domains').selectAll().execute(),
    ]);
    const byId = <T extends { id: string }>(list: T[]) => new Map(list.map((x) => [x.id, x]));
    const [u, p, r, d] = [byId(users), byId(projects), byId(roles), byId(domains)];
    const domainOf = (id: string): Named => named(d.get(id) ?? { id, name: id });
    const out: RoleAssignment[] = [];
    for (const a of rows) {
      const user = u.get(a.user_id);
      const project = p.get(a.target_id);
      const role = r.get(a.role_id);
      if (!user || !project || !role) continue;
      out.push({
        role,
        user: { ...user, domain: domainOf(user.domain_id) },
        project: { ...project, domain: domainOf(project.domain_id) },
      });
    }
    const key = (x: RoleAssignment) => `${x.project.name}\0${x.user.name}\0${x.role.name}`;
    return out.sort((a, b) => key(a).localeCompare(key(b)));
  }

  // ---- internals -------------------------------------------------------------------------------

  private async passwordUser(ref: NonNullable<AuthRequest['auth']['identity']['password']>['user']): Promise<UserRow> {
    let user: UserRow | undefined;
    if (ref.id) {
      user = await this.db.selectFrom('users').selectAll().where('id', '=', ref.id).executeTakeFirst();
    } else if (ref.name) {
      if (!ref.domain || (!ref.domain.id && !ref.domain.name)) {
        throw validationError('Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
      }
      const domainId = await this.domainIdFor(ref.domain);
      if (domainId) {
        user = await this.db
          .selectFrom('users')
          .selectAll()
          .where('domain_id', '=', domainId)
          .where('name', '=', ref.name)
          .executeTakeFirst();
      }
    } else {
      throw validationError('Expecting to find id or name in user.');
    }
    // Spend the same time whether or not the user exists.
    const ok = await verifyPassword(ref.password, user?.password_hash ?? (await decoyHash()));
    if (!ok || !user?.password_hash) throw unauthorized();
    return user;
  }

  private async scopeProject(scope: AuthRequest['auth']['scope'], user: UserRow): Promise<ProjectRow> {
    let project: ProjectRow | undefined;
    if (scope && scope !== 'unscoped' && scope.project) {
      const ref = scope.project;
      if (ref.id) {
        project = await this.db.selectFrom('projects').selectAll().where('id', '=', ref.id).executeTakeFirst();
      } else if (ref.name && ref.domain && (ref.domain.id || ref.domain.name)) {
        const domainId = await this.domainIdFor(ref.domain);
        if (domainId) {
          project = await this.db
            .selectFrom('projects')
            .selectAll()
            .where('domain_id', '=', domainId)
            .where('name', '=', ref.name)
            .executeTakeFirst();
        }
      } else {
        throw validationError('Expecting to find id or name and domain in project.');
      }
    } else if (scope === undefined && user.default_project_id) {
      // Keystone scopes an unscoped request to the user's default project; neutrino has no unscoped tokens.
      project = await this.db.selectFrom('projects').selectAll().where('id', '=', user.default_project_id).executeTakeFirst();
    }
    if (!project || !project.enabled) throw unauthorized();
    return project;
  }

  private async domainIdFor(ref: { id?: string; name?: string }): Promise<string | undefined> {
    let q = this.db.selectFrom('domains').select(['id', 'enabled']);
    q = ref.id ? q.where('id', '=', ref.id) : q.where('name', '=', ref.name ?? '');
    const d = await q.executeTakeFirst();
    return d?.enabled ? d.id : undefined;
  }

  /** A token row with everything needed to use it, or null if it is unknown, expired, revoked or orphaned. */
  private async loadToken(hash: string): Promise<LoadedToken | null> {
    const row = await this.db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!row || row.revoked || !row.project_id || Date.parse(row.expires_at) <= this.now()) return null;
    const [user, project] = await Promise.all([
      this.db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst(),
      this.db.selectFrom('projects').selectAll().where('id', '=', row.project_id).executeTakeFirst(),
    ]);
    if (!user?.enabled || !project?.enabled) return null;
    const [userDomain, projectDomain, roles] = await Promise.all([
      this.db.selectFrom('domains').selectAll().where('id', '=', user.domain_id).executeTakeFirst(),
      this.db.selectFrom('domains').selectAll().where('id', '=', project.domain_id).executeTakeFirst(),
      this.effectiveRoles(user.id, project.id),
    ]);
    if (!userDomain?.enabled || !projectDomain?.enabled || roles.length === 0) return null;
    return { row, user, userDomain, project, projectDomain, roles };
  }

  private tokenBody(t: LoadedToken, baseUrl: string): TokenBody {
    return {
      token: {
        methods: t.row.methods.split(','),
        user: { ...named(t.user), domain: named(t.userDomain), password_expires_at: null },
        audit_ids: t.row.audit_id.split(','),
        expires_at: keystoneTime(Date.parse(t.row.expires_at)),
        issued_at: keystoneTime(Date.parse(t.row.issued_at)),
        project: { ...named(t.project), domain: named(t.projectDomain) },
        is_domain: false,
        roles: t.roles.map(named),
        catalog: baseUrl ? this.catalog(baseUrl) : [],
      },
    };
  }

  private directRoles(userId: string, projectId: string): Promise<RoleRow[]> {
    return this.db
      .selectFrom('role_assignments as ra')
      .innerJoin('roles as r', 'r.id', 'ra.role_id')
      .select(['r.id', 'r.name', 'r.domain_id', 'r.description'])
      .where('ra.target_type', '=', 'project')
      .where('ra.target_id', '=', projectId)
      .where('ra.user_id', '=', userId)
      .orderBy('r.name')
      .execute();
  }

  /** Direct roles plus the ones they imply (admin ⇒ member ⇒ reader), as Keystone puts them in tokens. */
  private async effectiveRoles(userId: string, projectId: string): Promise<RoleRow[]> {
    const direct = await this.directRoles(userId, projectId);
    const names = new Set(direct.map((r) => r.name));
    const pending = [...names];
    const implied: string[] = [];
    while (pending.length) {
      for (const n of IMPLIES[pending.pop() as string] ?? []) {
        if (!names.has(n)) {
          names.add(n);
          implied.push(n);
          pending.push(n);
        }
      }
    }
    if (implied.length === 0) return direct;
    const extra = await this.db.selectFrom('roles').selectAll().where('name', 'in', implied).execute();
    return [...direct, ...extra];
  }

  private async grantTargets(projectId: string, userId: string, roleId: string): Promise<void> {
    await this.role(roleId);
    await this.project(projectId);
    await this.user(userId);
  }

  private grantQuery(projectId: string, userId: string, roleId: string) {
    return this.db
      .selectFrom('role_assignments')
      .select('role_id')
      .where('target_type', '=', 'project')
      .where('target_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('role_id', '=', roleId);
  }

  private grantNotFound(projectId: string, userId: string, roleId: string) {
    return notFoundError(
      'role assignment with role',
      `${roleId}, user or group: ${userId}, project, domain, or system: ${projectId}`,
    );
  }

  private async domain(id: string): Promise<DomainRow> {
    const row = await this.db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFoundError('domain', id);
    return row;
  }

  private async project(id: string): Promise<ProjectRow> {
    const row = await this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFoundError('project', id);
    return row;
  }

  private async user(id: string): Promise<UserRow> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFoundError('user', id);
    return row;
  }

  private async role(id: string): Promise<RoleRow> {
    const row = await this.db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFoundError('role', id);
    return row;
  }

  private async assertUniqueProject(name: string, domainId: string): Promise<void> {
    const row = await this.db
      .selectFrom('projects')
      .select('id')
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (row) throw duplicateName('project', name, domainId);
  }

  private async assertUniqueUser(name: string, domainId: string): Promise<void> {
    const row = await this.db
      .selectFrom('users')
      .select('id')
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (row) throw duplicateName('user', name, domainId);
  }

  /** Runs a write, turning a lost race on a unique name into Keystone's 409. */
  private async insertUnique(kind: string, name: string, domainId: string | undefined, write: () => Promise<unknown>) {
    try {
      await write();
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicateName(kind, name, domainId);
      throw err;
    }
  }

  private async revokeTokensWhere(who: { userId?: string; projectId?: string }): Promise<void> {
    let q = this.db.updateTable('tokens').set({ revoked: 1 }).where('revoked', '=', 0);
    if (who.userId !== undefined) q = q.where('user_id', '=', who.userId);
    if (who.projectId !== undefined) q = q.where('project_id', '=', who.projectId);
    await q.execute();
    this.invalidate(
      (e) => (who.userId === undefined || e.userId === who.userId) && (who.projectId === undefined || e.projectId === who.projectId),
    );
  }

  /** Drops cached validations; the next use of those tokens re-reads the database. */
  private invalidate(match: (e: CacheEntry) => boolean): void {
    this.generation++;
    for (const [hash, entry] of this.cache) if (match(entry)) this.cache.delete(hash);
  }

  private sweepCache(now: number): void {
    for (const [hash, entry] of this.cache) if (entry.expiresMs <= now) this.cache.delete(hash);
    // Still full of live tokens: forget the oldest validations (they are simply re-read on next use).
    let excess = this.cache.size - CACHE_MAX + 1;
    for (const hash of this.cache.keys()) {
      if (excess-- <= 0) break;
      this.cache.delete(hash);
    }
  }

  /** Expired token rows are useless; drop them now and then. */
  private async purgeExpired(): Promise<void> {
    const now = this.now();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    await this.db.deleteFrom('tokens').where('expires_at', '<', new Date(now).toISOString()).execute();
  }
}
