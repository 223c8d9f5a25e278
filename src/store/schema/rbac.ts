// Row types of the RBAC tables (migration 006).

/** One RBAC policy: `object_type` object `object_id` is shared by `action` with `target_project` ('*': all). */
export interface RbacPolicyRow {
  id: string;
  /** the policy's owner (who sees and manages it) */
  project_id: string;
  object_type: string;
  object_id: string;
  target_project: string;
  action: string;
}

export interface RbacTables {
  rbac_policies: RbacPolicyRow;
}
