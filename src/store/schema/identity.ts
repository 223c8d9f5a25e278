// Row types of the identity tables (Keystone's domains, projects, users, roles, assignments, tokens).

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
}

export interface IdentityTables {
  domains: DomainRow;
  projects: ProjectRow;
  users: UserRow;
  roles: RoleRow;
  role_assignments: RoleAssignmentRow;
  tokens: TokenRow;
}
