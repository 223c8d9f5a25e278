// The RBAC_POLICY callbacks of an object type, and how Neutron reports a refusal from one: the
// callback's error inside a CallbackFailure, which the RBAC plugin turns into InvalidInput (create) or
// RbacPolicyInUse (update, delete). The checks themselves live with each object type (rbac-objects.ts,
// rbac-network.ts, rbac-shared-object.ts).
import type { AuthContext } from '../model/context.ts';
import { conflict, invalidInput, NeutronError } from '../model/errors.ts';
import type { RbacPolicyRow } from '../store/schema/index.ts';
import type { Tx } from './common.ts';

export type NewRbacPolicy = Omit<RbacPolicyRow, 'id'>;

export interface RbacObjectType {
  /** the valid actions, in Neutron's order (InvalidActionForType lists them) */
  actions: readonly string[];
  /** BEFORE_CREATE: the caller may share the object this way; side effects of the new policy */
  beforeCreate(tx: Tx, ctx: AuthContext, p: NewRbacPolicy): Promise<void>;
  /** BEFORE_UPDATE: the caller may change the policy, and the project losing it depends on nothing */
  beforeUpdate(tx: Tx, ctx: AuthContext, p: RbacPolicyRow, newTarget: string): Promise<void>;
  /** BEFORE_DELETE: nothing depends on the policy */
  beforeDelete(tx: Tx, ctx: AuthContext, p: RbacPolicyRow): Promise<void>;
  /** AFTER_DELETE: what the policy's removal changes on its object */
  afterDelete?(tx: Tx, p: RbacPolicyRow): Promise<void>;
}

/** A callback's refusal: which callback (Neutron's name for it) and its error. */
export class CallbackFailure extends Error {
  readonly callback: string;
  readonly error: NeutronError;

  constructor(callback: string, error: NeutronError) {
    super(`Callback ${callback} failed with "${error.message}"`);
    this.callback = callback;
    this.error = error;
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

/** RbacPolicyInitError (a PolicyInitError: a server error unless a callback reports it). */
export const rbacPolicyInitError = (objectId: string, reason: string) =>
  new NeutronError(500, 'RbacPolicyInitError', `Failed to create RBAC policy on object ${objectId} because ${reason}.`);

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
