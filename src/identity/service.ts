// The Keystone v3 subset behind one object: bootstrap, tokens, catalog and administration.
// Each area lives in its own module; this class holds the shared state and keeps the public surface.
import type { ServerConfig } from '../server-config.ts';
import type { AuthContext } from '../model/context.ts';
import type { Db } from '../store/db.ts';
import type { DomainRow, GroupRow, ProjectRow, RoleRow, UserRow } from '../store/schema/index.ts';
import * as appCreds from './app-credentials.ts';
import * as assignments from './assignments.ts';
import * as groupGrants from './group-grants.ts';
import * as groups from './groups.ts';
import { bootstrap, hasUsers } from './bootstrap.ts';
import { catalog, listEndpoints, listServices, type CatalogEndpoint, type CatalogService, type OtherService } from './catalog.ts';
import type { IdentityDeps } from './context.ts';
import { listDomains } from './domains.ts';
import { domainById, roleById } from './lookup.ts';
import * as projects from './projects.ts';
import * as roles from './roles.ts';
import type {
  AppCredCreate,
  AuthRequest,
  GroupCreate,
  GroupUpdate,
  ProjectCreate,
  ProjectUpdate,
  RoleCreate,
  UserCreate,
  UserUpdate,
} from './schemas.ts';
import type { LockoutPolicy } from './lockout.ts';
import type { BackoffPolicy } from './login-throttle.ts';
import { PasswordGuard } from './password-guard.ts';
import { TokenCache } from './token-cache.ts';
import { TokenService, type IssuedToken, type TokenBody } from './tokens.ts';
import * as users from './users.ts';

export { REGION, type CatalogEndpoint, type CatalogService } from './catalog.ts';
export { DEFAULT_DOMAIN_ID, keystoneTime, requireAdmin, type Named, type ScopedRef } from './context.ts';
export type { ApplicationCredential } from './app-credentials.ts';
export type { AssignmentFilters, RoleAssignment } from './assignments.ts';
export type { GroupFilters } from './groups.ts';
export type { ProjectFilters } from './projects.ts';
export type { IssuedToken, TokenBody } from './tokens.ts';
export type { UserFilters } from './users.ts';

export interface IdentityOptions {
  tokenTtlSeconds: number;
  /** Public base URL for the catalog when a caller does not pass one. */
  baseUrl?: string;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
  /** Keystone's account lockout; off unless given. */
  lockout?: LockoutPolicy;
  /** Per-user back-off on failed password checks; off unless given. */
  backoff?: BackoffPolicy;
  /** log2 of scrypt's N for new password hashes ([identity] password_hash_rounds); 14 unless given. */
  passwordHashRounds?: number;
  /** Services besides neutrino's own that the catalog lists. */
  otherServices?: OtherService[];
}

/** The identity settings of the server's configuration. */
export function identityOptions(config: ServerConfig): IdentityOptions {
  return {
    tokenTtlSeconds: config.tokenTtlSeconds,
    lockout: { failureAttempts: config.lockoutFailureAttempts, durationSeconds: config.lockoutDuration },
    backoff: { initialDelayMs: config.failureBackoffInitialMs, maxDelayMs: config.failureBackoffMax * 1000 },
    passwordHashRounds: config.passwordHashRounds,
    otherServices: config.catalogComputeUrl ? [{ type: 'compute', name: 'nova', url: config.catalogComputeUrl }] : [],
  };
}

const NO_LOCKOUT: LockoutPolicy = { failureAttempts: null, durationSeconds: 1800 };
const NO_BACKOFF: BackoffPolicy = { initialDelayMs: 0, maxDelayMs: 0 };

export class IdentityService {
  private readonly deps: IdentityDeps;
  private readonly tokens: TokenService;

  private readonly opts: IdentityOptions;

  constructor(db: Db, opts: IdentityOptions) {
    this.opts = opts;
    const now = opts.now ?? Date.now;
    const passwords = new PasswordGuard(db, now, {
      lockout: opts.lockout ?? NO_LOCKOUT,
      backoff: opts.backoff ?? NO_BACKOFF,
      hashRounds: opts.passwordHashRounds,
    });
    this.deps = { db, now, cache: new TokenCache(), passwords };
    this.tokens = new TokenService(this.deps, opts.tokenTtlSeconds, (baseUrl) => this.catalog(baseUrl));
  }

  /** Idempotent: Default domain, admin/member/reader roles, admin project and user (password set once). */
  bootstrap(adminPassword: string): Promise<void> {
    return bootstrap(this.deps, adminPassword);
  }

  /** False until someone bootstraps (or creates) a user. */
  hasUsers(): Promise<boolean> {
    return hasUsers(this.deps);
  }

  // ---- tokens and catalog ----------------------------------------------------------------------

  catalog(baseUrl: string): CatalogService[] {
    return catalog(baseUrl, this.opts.otherServices);
  }

  /** GET /v3/services and /v3/endpoints: the fixed catalog as administration objects (read-only). */
  listServices(caller: AuthContext, baseUrl: string): CatalogService[] {
    return listServices(caller, this.catalog(baseUrl));
  }

  listEndpoints(caller: AuthContext, baseUrl: string): Array<CatalogEndpoint & { service_id: string }> {
    return listEndpoints(caller, this.catalog(baseUrl));
  }

  /** POST /v3/auth/tokens: password (or token) authentication, always project-scoped. */
  issueToken(auth: AuthRequest['auth'], baseUrl = this.opts.baseUrl ?? ''): Promise<IssuedToken> {
    return this.tokens.issue(auth, baseUrl);
  }

  /** The caller of every API request: cached, so a hit costs one sha256 and a Map lookup. */
  authenticateToken(token: string): Promise<AuthContext | null> {
    return this.tokens.authenticate(token);
  }

  /** GET /v3/auth/tokens: the subject token's body; admins may check any token, others their own. */
  validateToken(caller: AuthContext, subjectToken: string, baseUrl = this.opts.baseUrl ?? ''): Promise<TokenBody> {
    return this.tokens.validate(caller, subjectToken, baseUrl);
  }

  /** DELETE /v3/auth/tokens. */
  revokeToken(caller: AuthContext, subjectToken: string): Promise<void> {
    return this.tokens.revoke(caller, subjectToken);
  }

  // ---- domains and projects --------------------------------------------------------------------

  async listDomains(_caller: AuthContext, filters: { name?: string; enabled?: boolean } = {}): Promise<DomainRow[]> {
    return listDomains(this.deps.db, filters);
  }

  async getDomain(_caller: AuthContext, id: string): Promise<DomainRow> {
    return domainById(this.deps.db, id);
  }

  createProject(caller: AuthContext, input: ProjectCreate): Promise<ProjectRow> {
    return projects.createProject(this.deps, caller, input);
  }

  listProjects(caller: AuthContext, filters: projects.ProjectFilters = {}): Promise<ProjectRow[]> {
    return projects.listProjects(this.deps, caller, filters);
  }

  getProject(caller: AuthContext, id: string): Promise<ProjectRow> {
    return projects.getProject(this.deps, caller, id);
  }

  updateProject(caller: AuthContext, id: string, patch: ProjectUpdate): Promise<ProjectRow> {
    return projects.updateProject(this.deps, caller, id, patch);
  }

  /** Removes the project's role assignments and kills every token scoped to it. */
  deleteProject(caller: AuthContext, id: string): Promise<void> {
    return projects.deleteProject(this.deps, caller, id);
  }

  /** GET /v3/users/{id}/projects and /v3/auth/projects: enabled projects the user or one of its groups holds a role on. */
  listUserProjects(caller: AuthContext, userId: string): Promise<ProjectRow[]> {
    return projects.listUserProjects(this.deps, caller, userId);
  }

  // ---- users -----------------------------------------------------------------------------------

  createUser(caller: AuthContext, input: UserCreate): Promise<UserRow> {
    return users.createUser(this.deps, caller, input);
  }

  listUsers(caller: AuthContext, filters: users.UserFilters = {}): Promise<UserRow[]> {
    return users.listUsers(this.deps, caller, filters);
  }

  getUser(caller: AuthContext, id: string): Promise<UserRow> {
    return users.getUser(this.deps, caller, id);
  }

  /** A password change or disabling the user revokes the user's tokens, as Keystone does. */
  updateUser(caller: AuthContext, id: string, patch: UserUpdate): Promise<UserRow> {
    return users.updateUser(this.deps, caller, id, patch);
  }

  /** POST /v3/users/{id}/password: self-service change, proven by the original password. */
  changePassword(caller: AuthContext, id: string, original: string, password: string): Promise<void> {
    return users.changePassword(this.deps, caller, id, original, password);
  }

  deleteUser(caller: AuthContext, id: string): Promise<void> {
    return users.deleteUser(this.deps, caller, id);
  }

  // ---- groups and their members -----------------------------------------------------------------

  createGroup(caller: AuthContext, input: GroupCreate): Promise<GroupRow> {
    return groups.createGroup(this.deps, caller, input);
  }

  listGroups(caller: AuthContext, filters: groups.GroupFilters = {}): Promise<GroupRow[]> {
    return groups.listGroups(this.deps, caller, filters);
  }

  getGroup(caller: AuthContext, id: string): Promise<GroupRow> {
    return groups.getGroup(this.deps, caller, id);
  }

  updateGroup(caller: AuthContext, id: string, patch: GroupUpdate): Promise<GroupRow> {
    return groups.updateGroup(this.deps, caller, id, patch);
  }

  /** The members' tokens die if the group held roles. */
  deleteGroup(caller: AuthContext, id: string): Promise<void> {
    return groups.deleteGroup(this.deps, caller, id);
  }

  addUserToGroup(caller: AuthContext, groupId: string, userId: string): Promise<void> {
    return groups.addUserToGroup(this.deps, caller, groupId, userId);
  }

  checkUserInGroup(caller: AuthContext, groupId: string, userId: string): Promise<void> {
    return groups.checkUserInGroup(this.deps, caller, groupId, userId);
  }

  /** The user's tokens die. */
  removeUserFromGroup(caller: AuthContext, groupId: string, userId: string): Promise<void> {
    return groups.removeUserFromGroup(this.deps, caller, groupId, userId);
  }

  listUsersInGroup(caller: AuthContext, groupId: string): Promise<UserRow[]> {
    return groups.listUsersInGroup(this.deps, caller, groupId);
  }

  listGroupsForUser(caller: AuthContext, userId: string): Promise<GroupRow[]> {
    return groups.listGroupsForUser(this.deps, caller, userId);
  }

  assignGroupRole(caller: AuthContext, projectId: string, groupId: string, roleId: string): Promise<void> {
    return groupGrants.assignGroupRole(this.deps, caller, projectId, groupId, roleId);
  }

  checkGroupRole(caller: AuthContext, projectId: string, groupId: string, roleId: string): Promise<void> {
    return groupGrants.checkGroupRole(this.deps, caller, projectId, groupId, roleId);
  }

  /** The members' tokens on the project die. */
  unassignGroupRole(caller: AuthContext, projectId: string, groupId: string, roleId: string): Promise<void> {
    return groupGrants.unassignGroupRole(this.deps, caller, projectId, groupId, roleId);
  }

  listGroupGrants(caller: AuthContext, projectId: string, groupId: string): Promise<RoleRow[]> {
    return groupGrants.listGroupGrants(this.deps, caller, projectId, groupId);
  }

  // ---- application credentials -----------------------------------------------------------------

  /** The new credential and its secret, which is shown only this once. */
  createApplicationCredential(caller: AuthContext, userId: string, input: AppCredCreate) {
    return appCreds.createApplicationCredential(this.deps, caller, userId, input);
  }

  listApplicationCredentials(caller: AuthContext, userId: string, name?: string) {
    return appCreds.listApplicationCredentials(this.deps, caller, userId, name);
  }

  getApplicationCredential(caller: AuthContext, userId: string, id: string) {
    return appCreds.getApplicationCredential(this.deps, caller, userId, id);
  }

  /** Tokens issued from the credential die with it. */
  deleteApplicationCredential(caller: AuthContext, userId: string, id: string): Promise<void> {
    return appCreds.deleteApplicationCredential(this.deps, caller, userId, id);
  }

  // ---- roles and role assignments --------------------------------------------------------------

  createRole(caller: AuthContext, input: RoleCreate): Promise<RoleRow> {
    return roles.createRole(this.deps, caller, input);
  }

  async listRoles(_caller: AuthContext, filters: { name?: string } = {}): Promise<RoleRow[]> {
    return roles.listRoles(this.deps.db, filters);
  }

  async getRole(_caller: AuthContext, id: string): Promise<RoleRow> {
    return roleById(this.deps.db, id);
  }

  deleteRole(caller: AuthContext, id: string): Promise<void> {
    return roles.deleteRole(this.deps, caller, id);
  }

  assignRole(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    return assignments.assignRole(this.deps, caller, projectId, userId, roleId);
  }

  /** HEAD: resolves when the assignment exists, 404 otherwise. */
  checkRole(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    return assignments.checkRole(this.deps, caller, projectId, userId, roleId);
  }

  /** Tokens of the user on the project issued before the removal die, and stay dead if the role is granted again. */
  unassignRole(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    return assignments.unassignRole(this.deps, caller, projectId, userId, roleId);
  }

  /** GET /v3/projects/{p}/users/{u}/roles: the directly assigned roles. */
  listGrants(caller: AuthContext, projectId: string, userId: string): Promise<RoleRow[]> {
    return assignments.listGrants(this.deps, caller, projectId, userId);
  }

  listRoleAssignments(caller: AuthContext, filters: assignments.AssignmentFilters = {}): Promise<assignments.RoleAssignment[]> {
    return assignments.listRoleAssignments(this.deps, caller, filters);
  }
}
