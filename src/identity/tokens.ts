// Tokens: issue (password or token method, always project-scoped), validate, revoke, and authenticate callers.
import { randomBytes } from 'node:crypto';
import { authContext, type AuthContext } from '../model/context.ts';
import type { ApplicationCredentialRow, DomainRow, ProjectRow, RoleRow, TokenRow, UserRow } from '../store/schema/index.ts';
import { credentialTokenRoles, isExpired, proveApplicationCredential } from './app-credentials.ts';
import { findPasswordUser, scopeProject } from './auth-request.ts';
import type { CatalogService } from './catalog.ts';
import { keystoneTime, named, sha256, type IdentityDeps, type Named, type ScopedRef } from './context.ts';
import { forbiddenAction, notFoundError, unauthorized } from './errors.ts';
import { domainById, projectById } from './lookup.ts';
import { isRevokedByEvent, pruneRevocations } from './revocation.ts';
import { effectiveRoles } from './roles.ts';
import type { AuthRequest } from './schemas.ts';

const PURGE_EVERY_MS = 60_000;

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
    application_credential?: { id: string; name: string; restricted: boolean };
  };
}

export interface IssuedToken {
  token: string;
  body: TokenBody;
}

/** A usable token's row with its user, project, their domains and the roles it carries. */
interface LoadedToken {
  row: TokenRow;
  user: UserRow;
  userDomain: DomainRow;
  project: ProjectRow;
  projectDomain: DomainRow;
  roles: RoleRow[];
  cred: ApplicationCredentialRow | null;
}

/** What the request's identity proved: the user, the methods, and (for a rescoped token) expiry and audit chain. */
interface Proof {
  user: UserRow;
  methods: string[];
  expiresMs?: number;
  audit: string[];
  /** The application credential the token is issued from (directly, or through its token). */
  cred?: ApplicationCredentialRow;
}

const auditId = () => randomBytes(16).toString('base64url');

export class TokenService {
  private lastPurge = 0;

  private readonly deps: IdentityDeps;
  private readonly tokenTtlSeconds: number;
  private readonly catalogOf: (baseUrl: string) => CatalogService[];

  constructor(
    deps: IdentityDeps,
    tokenTtlSeconds: number,
    /** The service catalog put in tokens, for the base URL the client reached. */
    catalogOf: (baseUrl: string) => CatalogService[],
  ) {
    this.deps = deps;
    this.tokenTtlSeconds = tokenTtlSeconds;
    this.catalogOf = catalogOf;
  }

  /** A token's catalog: none without a base URL (?nocatalog). */
  private catalogFor(baseUrl: string): CatalogService[] {
    return baseUrl ? this.catalogOf(baseUrl) : [];
  }

  /** POST /v3/auth/tokens. */
  async issue(auth: AuthRequest['auth'], baseUrl: string): Promise<IssuedToken> {
    const { user, methods, expiresMs, audit, cred } = await this.prove(auth.identity, auth.scope !== undefined);
    // Taken before the roles are read: a revocation racing with this request then matches the new token.
    const issuedMs = this.deps.now();
    if (!user.enabled) throw unauthorized();
    // A credential's token is scoped to the credential's project and carries the credential's roles.
    const project = cred
      ? await projectById(this.deps.db, cred.project_id).catch(() => null)
      : await scopeProject(this.deps.db, auth.scope, user);
    if (!project?.enabled) throw unauthorized();
    const roles = cred ? await credentialTokenRoles(this.deps, cred) : await effectiveRoles(this.deps.db, user.id, project.id);
    if (roles.length === 0) throw unauthorized();
    const ttlEnd = expiresMs ?? issuedMs + this.tokenTtlSeconds * 1000;
    const credEnd = cred?.expires_at ? Date.parse(cred.expires_at) : Infinity;

    const token = randomBytes(32).toString('base64url');
    const row: TokenRow = {
      token_hash: sha256(token),
      user_id: user.id,
      project_id: project.id,
      methods: methods.join(','),
      audit_id: audit.join(','),
      issued_at: new Date(issuedMs).toISOString(),
      expires_at: new Date(Math.min(ttlEnd, credEnd)).toISOString(),
      revoked: 0,
      application_credential_id: cred?.id ?? null,
    };
    await this.deps.db.insertInto('tokens').values(row).execute();
    await this.purgeExpired();
    const [userDomain, projectDomain] = await Promise.all([
      domainById(this.deps.db, user.domain_id),
      domainById(this.deps.db, project.domain_id),
    ]);
    return {
      token,
      body: tokenBody({ row, user, userDomain, project, projectDomain, roles, cred: cred ?? null }, this.catalogFor(baseUrl)),
    };
  }

  /** The caller of every API request: cached, so a hit costs one sha256 and a Map lookup. */
  async authenticate(token: string): Promise<AuthContext | null> {
    if (!token || token.length > 1024) return null;
    const hash = sha256(token);
    const now = this.deps.now();
    const cached = this.deps.cache.lookup(hash, now);
    if (cached !== undefined) return cached;
    const mark = this.deps.cache.mark();
    const loaded = await this.load(hash);
    if (!loaded) return null;
    const ctx = authContext({
      userId: loaded.user.id,
      userName: loaded.user.name,
      projectId: loaded.project.id,
      projectName: loaded.project.name,
      roles: loaded.roles.map((r) => r.name),
      expiresAt: keystoneTime(Date.parse(loaded.row.expires_at)),
      ...(loaded.cred ? { applicationCredential: { id: loaded.cred.id, unrestricted: Boolean(loaded.cred.unrestricted) } } : {}),
    });
    const entry = {
      ctx,
      expiresMs: Date.parse(loaded.row.expires_at),
      userId: ctx.userId,
      projectId: ctx.projectId,
      applicationCredentialId: loaded.cred?.id,
    };
    this.deps.cache.remember(mark, hash, entry, now);
    return ctx;
  }

  /** GET /v3/auth/tokens: the subject token's body; admins may check any token, others their own. */
  async validate(caller: AuthContext, subjectToken: string, baseUrl: string): Promise<TokenBody> {
    const loaded = subjectToken ? await this.load(sha256(subjectToken)) : null;
    if (!loaded) throw notFoundError('token', 'the X-Subject-Token');
    if (!caller.isAdmin && caller.userId !== loaded.user.id) throw forbiddenAction('identity:validate_token');
    return tokenBody(loaded, this.catalogFor(baseUrl));
  }

  /** DELETE /v3/auth/tokens. */
  async revoke(caller: AuthContext, subjectToken: string): Promise<void> {
    const hash = subjectToken ? sha256(subjectToken) : '';
    const loaded = hash ? await this.load(hash) : null;
    if (!loaded) throw notFoundError('token', 'the X-Subject-Token');
    if (!caller.isAdmin && caller.userId !== loaded.user.id) throw forbiddenAction('identity:revoke_token');
    await this.deps.db.updateTable('tokens').set({ revoked: 1 }).where('token_hash', '=', hash).execute();
    this.deps.cache.forget(hash);
  }

  /** Checks the password, the application credential, or the parent token of a rescope; 401 otherwise. */
  private async prove(identity: AuthRequest['auth']['identity'], hasScope: boolean): Promise<Proof> {
    const audit = auditId();
    if (identity.methods.includes('application_credential') && identity.application_credential) {
      const { cred, user } = await proveApplicationCredential(this.deps, identity.application_credential, hasScope);
      return { user, methods: ['application_credential'], audit: [audit], cred };
    }
    if (identity.methods.includes('password') && identity.password) {
      const ref = identity.password.user;
      const found = await findPasswordUser(this.deps.db, ref);
      const user = await this.deps.passwords.check(found, JSON.stringify([ref.id, ref.name, ref.domain]), ref.password);
      return { user, methods: ['password'], audit: [audit] };
    }
    if (identity.methods.includes('token') && identity.token) {
      const parent = await this.load(sha256(identity.token.id));
      if (!parent) throw unauthorized();
      if (parent.cred && hasScope) throw forbiddenAction('Using an application credential token to create a scoped token is not allowed.');
      // A rescoped token keeps its parent's expiry (and credential), as in Keystone.
      const expiresMs = Date.parse(parent.row.expires_at);
      const chain = [audit, parent.row.audit_id.split(',')[0]];
      return { user: parent.user, methods: ['token'], expiresMs, audit: chain, ...(parent.cred ? { cred: parent.cred } : {}) };
    }
    throw unauthorized();
  }

  /** A token row with everything needed to use it, or null if it is unknown, expired, revoked or orphaned. */
  private async load(hash: string): Promise<LoadedToken | null> {
    const { db } = this.deps;
    const row = await db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!row || row.revoked || !row.project_id || Date.parse(row.expires_at) <= this.deps.now()) return null;
    if (await isRevokedByEvent(db, row)) return null;
    const [user, project] = await Promise.all([
      db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst(),
      db.selectFrom('projects').selectAll().where('id', '=', row.project_id).executeTakeFirst(),
    ]);
    if (!user?.enabled || !project?.enabled) return null;
    // A credential's token lives only as long as the credential.
    const cred = row.application_credential_id
      ? ((await db.selectFrom('application_credentials').selectAll().where('id', '=', row.application_credential_id).executeTakeFirst()) ??
        null)
      : null;
    if (row.application_credential_id && (!cred || isExpired(this.deps, cred))) return null;
    const [userDomain, projectDomain, roles] = await Promise.all([
      db.selectFrom('domains').selectAll().where('id', '=', user.domain_id).executeTakeFirst(),
      db.selectFrom('domains').selectAll().where('id', '=', project.domain_id).executeTakeFirst(),
      cred ? credentialTokenRoles(this.deps, cred) : effectiveRoles(db, user.id, project.id),
    ]);
    if (!userDomain?.enabled || !projectDomain?.enabled || roles.length === 0) return null;
    return { row, user, userDomain, project, projectDomain, roles, cred };
  }

  /** Expired token rows, and revocation events older than every live token, are useless; drop them now and then. */
  private async purgeExpired(): Promise<void> {
    const now = this.deps.now();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    const { db } = this.deps;
    await db.deleteFrom('tokens').where('expires_at', '<', new Date(now).toISOString()).execute();
    const oldest = await db
      .selectFrom('tokens')
      .select((eb) => eb.fn.min('issued_at').as('at'))
      .executeTakeFirst();
    await pruneRevocations(db, oldest?.at ? Date.parse(oldest.at) : now);
  }
}

function tokenBody(t: LoadedToken, services: CatalogService[]): TokenBody {
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
      catalog: services,
      ...(t.cred ? { application_credential: { id: t.cred.id, name: t.cred.name, restricted: !t.cred.unrestricted } } : {}),
    },
  };
}
