// The object types RBAC policies apply to, one entry each (neutron/db/rbac_db_models.py and the
// RBAC_POLICY callbacks of neutron/objects/rbac_db.py): the valid actions and the checks a policy's
// create, update and delete run. A shareable resource joins by adding an entry to RBAC_OBJECT_TYPES.
import { addressGroupRbac } from './address-groups.ts';
import { addressScopeRbac } from './address-scopes.ts';
import type { RbacObjectType } from './rbac-callbacks.ts';
import { networkRbac } from './rbac-network.ts';
import { sharedObjectType } from './rbac-shared-object.ts';
import { groupNotFound } from './securitygroups.ts';
import { subnetPoolRbac } from './subnetpools.ts';

const securityGroupRbac = sharedObjectType({
  table: 'security_groups',
  callback: 'neutron.objects.securitygroup.SecurityGroup.validate_rbac_policy_change',
  notFound: groupNotFound,
  async boundProjects(tx, id) {
    const rows = await tx
      .selectFrom('port_security_groups')
      .innerJoin('ports', 'ports.id', 'port_security_groups.port_id')
      .select('ports.project_id')
      .where('port_security_groups.security_group_id', '=', id)
      .execute();
    return new Set(rows.map((r) => r.project_id));
  },
});

/** object_type → its RBAC rules, in the order the API lists policies. */
export const RBAC_OBJECT_TYPES: Record<string, RbacObjectType> = {
  network: networkRbac,
  security_group: securityGroupRbac,
  address_scope: addressScopeRbac,
  subnetpool: subnetPoolRbac,
  address_group: addressGroupRbac,
};
