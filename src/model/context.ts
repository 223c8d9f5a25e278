// Who is calling: what a validated token says about its holder.

export interface AuthContext {
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  roles: string[];
  /** Neutron Zed's legacy policy: the `admin` role is admin everywhere. */
  isAdmin: boolean;
  expiresAt: string;
  /** Set when the token was issued from an application credential. */
  applicationCredential?: { id: string; unrestricted: boolean };
}

export function authContext(fields: Omit<AuthContext, 'isAdmin'>): AuthContext {
  return { ...fields, isAdmin: fields.roles.includes('admin') };
}
