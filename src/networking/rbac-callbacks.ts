// How Neutron reports a refusal from one of its RBAC_POLICY callbacks: the callback's error inside a
// CallbackFailure, which the RBAC plugin turns into InvalidInput (create) or RbacPolicyInUse (update,
// delete). The checks themselves live with each object type (rbac-objects.ts, rbac-network.ts).
import { conflict, invalidInput, NeutronError } from '../model/errors.js';

/** A callback's refusal: which callback (Neutron's name for it) and its error. */
export class CallbackFailure extends Error {
  constructor(
    readonly callback: string,
    readonly error: NeutronError,
  ) {
    super(`Callback ${callback} failed with "${error.message}"`);
  }
}

/** Runs one callback's check, its NeutronError reported as that callback's failure. */
export async function inCallback<T>(callback: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (e) {
    if (e instanceof NeutronError) throw new CallbackFailure(callback, e);
    throw e;
  }
}

export const rbacPolicyInUse = (objectId: string, details: string) =>
  conflict(
    'RbacPolicyInUse',
    `RBAC policy on object ${objectId} cannot be removed because other objects depend on it.\nDetails: ${details}`,
  );

/** create_rbac_policy: a BEFORE_CREATE failure is InvalidInput. */
export async function asInvalidInput<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof CallbackFailure) throw invalidInput(e.message);
    throw e;
  }
}

/** update_rbac_policy, delete_rbac_policy: a BEFORE_UPDATE/BEFORE_DELETE failure is RbacPolicyInUse. */
export async function asPolicyInUse<T>(objectId: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof CallbackFailure) throw rbacPolicyInUse(objectId, e.message);
    throw e;
  }
}
