// Keystone-style failures raised by the identity service (rendered as `{"error": {...}}`).
import { IdentityError } from '../model/errors.ts';

export { unauthorized } from '../model/errors.ts';

export const notFoundError = (kind: string, id: string) => new IdentityError(404, 'Not Found', `Could not find ${kind}: ${id}.`);

export const forbiddenAction = (action: string) =>
  new IdentityError(403, 'Forbidden', `You are not authorized to perform the requested action: ${action}.`);

export const conflictError = (kind: string, details: string) =>
  new IdentityError(409, 'Conflict', `Conflict occurred attempting to store ${kind} - ${details}.`);

export const validationError = (message: string) => new IdentityError(400, 'Bad Request', message);

export const duplicateName = (kind: string, name: string, domainId?: string) =>
  conflictError(kind, `Duplicate entry found with name ${name}${domainId ? ` at domain ID ${domainId}` : ''}`);

/** SQLite unique/primary-key violations, raised when a concurrent request won the race for a name. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
