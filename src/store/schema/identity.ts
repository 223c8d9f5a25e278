// Row types of the identity tables (Keystone's domains, projects, users, roles, assignments, tokens).
import type { Generated } from 'kysely';

export interface DomainRow {
  id: string;
  name: string;
  description: string;
  enabled: number;
}

export interface ProjectRow {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  enabled: number;
  created_at: string;
}

export interface UserRow {
  id: string;
  name: string;
  domain_id: string;
  /** scrypt$N$r$p$salt$hash, all base64 */
  password_hash: string | null;
  enabled: number;
  default_project_id: string | null;
  description: string;
  email: string | null;
  created_at: string;
}

export interface RoleRow {
  id: string;
  name: string;
  domain_id: string | null;
  description: string;
}

export interface RoleAssignmentRow {
  /** 'project' or 'domain' */
  target_type: string;
  target_id: string;
  user_id: string;
  role_id: string;
}

export interface TokenRow {
  /** sha256 of the token string: a leaked database does not leak usable tokens */
  token_hash: string;
  user_id: string;
  project_id: string | null;
  methods: string;
  audit_id: string;
  issued_at: string;
  expires_at: string;
  revoked: number;
  /** the application credential the token was issued from (`application_credential` method), else null */
  application_credential_id: string | null;
}

export interface ApplicationCredentialRow {
  id: string;
  name: string;
  description: string | null;
  user_id: string;
  project_id: string;
  /** the secret's hash (password.ts): the secret itself is shown once, at creation */
  secret_hash: string;
  expires_at: string | null;
  unrestricted: number;
  created_at: string;
}

export interface ApplicationCredentialRoleRow {
  application_credential_id: string;
  role_id: string;
}

export interface GroupRow {
  id: string;
  name: string;
  domain_id: string;
  description: string;
}

export interface GroupMembershipRow {
  group_id: string;
  user_id: string;
}

/** A role of a group on a project: every member holds it there. */
export interface GroupRoleAssignmentRow {
  project_id: string;
  group_id: string;
  role_id: string;
}

/** Tokens of the user (any, if null) on the project (any, if null) issued at or before `issued_before` are revoked. */
export interface RevocationEventRow {
  id: Generated<number>;
  user_id: string | null;
  project_id: string | null;
  issued_before: string;
}

/** Consecutive failed password checks of a user (Keystone's local_user.failed_auth_count/_at). */
export interface FailedAuthRow {
  user_id: string;
  failed_auth_count: number;
  failed_auth_at: string;
}

export interface IdentityTables {
  domains: DomainRow;
  projects: ProjectRow;
  users: UserRow;
  roles: RoleRow;
  role_assignments: RoleAssignmentRow;
  tokens: TokenRow;
  revocation_events: RevocationEventRow;
  failed_auths: FailedAuthRow;
  application_credentials: ApplicationCredentialRow;
  application_credential_roles: ApplicationCredentialRoleRow;
  groups: GroupRow;
  group_memberships: GroupMembershipRow;
  group_role_assignments: GroupRoleAssignmentRow;
}
