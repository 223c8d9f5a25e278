// Security groups: the lazily created per-project `default` group and its rules.
import type { Tx } from './common.js';
import { newId, recordChange, timestamp } from './common.js';

/** Rules every new group gets: egress to anywhere, IPv4 and IPv6. */
function egressRules(groupId: string, projectId: string, now: string) {
  return ['IPv4', 'IPv6'].map((ethertype) => ({
    id: newId(),
    project_id: projectId,
    security_group_id: groupId,
    direction: 'egress',
    ethertype,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null as string | null,
    description: '',
    revision_number: 0,
    created_at: now,
    updated_at: now,
  }));
}

/** Inserts a group with Neutron's template rules (default group: also ingress from its own members). */
export async function insertGroup(
  tx: Tx,
  fields: { projectId: string; name: string; description: string; stateful: boolean; isDefault: boolean },
): Promise<string> {
  const id = newId();
  const now = timestamp();
  await tx
    .insertInto('security_groups')
    .values({
      id,
      project_id: fields.projectId,
      name: fields.name,
      description: fields.description,
      stateful: fields.stateful ? 1 : 0,
      revision_number: 0,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const rules = egressRules(id, fields.projectId, now);
  if (fields.isDefault) {
    for (const ethertype of ['IPv4', 'IPv6']) {
      rules.push({ ...rules[0], id: newId(), direction: 'ingress', ethertype, remote_group_id: id });
    }
  }
  await tx.insertInto('security_group_rules').values(rules).execute();
  await recordChange(tx, 'security_group', id, 'create', fields.projectId);
  return id;
}

/** The project's `default` group, created on first need (securitygroups_db._ensure_default_security_group). */
export async function ensureDefaultSecurityGroup(tx: Tx, projectId: string): Promise<string> {
  const existing = await tx
    .selectFrom('default_security_groups')
    .select('security_group_id')
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (existing) return existing.security_group_id;
  const id = await insertGroup(tx, {
    projectId,
    name: 'default',
    description: 'Default security group',
    stateful: true,
    isDefault: true,
  });
  await tx.insertInto('default_security_groups').values({ project_id: projectId, security_group_id: id }).execute();
  return id;
}
