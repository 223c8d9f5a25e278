// Security group rules: /v2.0/security-group-rules (neutron/db/securitygroups_db.py, Zed behaviour).
// Rules are immutable but for their description; creating or deleting one bumps its group's revision.
import type { ResourceSpec } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { NeutronError, notFound } from '../model/errors.ts';
import { checkAddressGroup } from './address-groups.ts';
import {
  convertEthertype,
  convertPort,
  convertProtocol,
  convertRemoteIpPrefix,
  duplicateInPost,
  ruleExists,
  ruleKey,
  validateRule,
  type RuleFields,
} from '../model/sgrules.ts';
import { isString, isStringOrNull, isUuidOrNull, toInt } from '../model/validators.ts';
import type { SecurityGroupRow, SecurityGroupRuleRow } from '../store/schema/index.ts';
import { newId, recordChange, timestamp, type ResourceService, type Tx } from './common.ts';
import { nullableIntFilter, nullableTextFilter, sqlListing, textColumn, unnamedStandardColumns, type ListTable } from './list-sql.ts';
import { enforceQuota } from './quotas.ts';
import { ensureDefaultOnList, groupNotFound, ruleToApi, securityGroupService, touchGroup } from './securitygroups.ts';

/** Filters are converted like bodies, but a value that is no protocol simply matches nothing. */
const protocolFilter = (v: unknown) => {
  try {
    return convertProtocol(v);
  } catch {
    return v;
  }
};

/** type:values with Python's rendering of the list (validators.isOneOf prints it without spaces). */
const isDirection = (v: unknown) =>
  v === 'ingress' || v === 'egress' ? undefined : `'${typeof v === 'string' ? v : JSON.stringify(v)}' is not in ['ingress', 'egress']`;

const ruleAttributes: ResourceSpec['attributes'] = {
  id: { filter: true, sort: true },
  security_group_id: { post: true, required: true, validate: isString(36), filter: true, sort: true },
  remote_group_id: { post: true, default: null, validate: isStringOrNull(36), filter: true, sort: true },
  direction: { post: true, required: true, validate: isDirection, filter: true, sort: true },
  protocol: { post: true, default: null, convert: convertProtocol, filterConvert: protocolFilter, filter: true, sort: true },
  port_range_min: { post: true, default: null, convert: convertPort, filterConvert: toInt, filter: true, sort: true },
  port_range_max: { post: true, default: null, convert: convertPort, filterConvert: toInt, filter: true, sort: true },
  ethertype: { post: true, default: 'IPv4', convert: convertEthertype, filter: true, sort: true },
  remote_ip_prefix: { post: true, default: null, convert: convertRemoteIpPrefix, filterConvert: (v) => v, filter: true, sort: true },
  remote_address_group_id: { post: true, default: null, validate: isUuidOrNull, filter: true, sort: true },
  normalized_cidr: { filter: false },
  description: { post: true, put: true, default: '', validate: isString(255), filter: true },
  created_at: { filter: true, sort: true },
  updated_at: { filter: true, sort: true },
  revision_number: { filter: true, sort: true, convert: toInt },
};

/** `path` is the URL collection (the body key stays `security_group_rules`). */
const ruleSpecWithPath = {
  singular: 'security_group_rule',
  plural: 'security_group_rules',
  path: 'security-group-rules',
  attributes: ruleAttributes,
};
export const securityGroupRuleSpec: ResourceSpec = ruleSpecWithPath;

/**
 * One bulk POST runs every create in the same transaction: what the earlier rules of that request
 * were, so a repeat is DuplicateSecurityGroupRuleInPost and rules for several groups are refused.
 */
const postedInTx = new WeakMap<object, { groupId: string; projectId: string; keys: Set<string> }>();

const ruleNotFound = (id: string) => notFound('SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`);

/** _check_security_group: the group exists and (unless admin) belongs to the rule's project. */
async function groupForRule(tx: Tx, ctx: AuthContext, id: string, projectId: string): Promise<SecurityGroupRow> {
  const row = await tx.selectFrom('security_groups').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!ctx.isAdmin && row.project_id !== projectId)) throw groupNotFound(id);
  return row;
}

/** The rules table as lists filter and sort it: the columns that hold no NULL sort and page in SQL. */
const ruleTable: ListTable = {
  table: 'security_group_rules',
  columns: {
    ...unnamedStandardColumns,
    security_group_id: textColumn('security_group_id'),
    direction: textColumn('direction'),
    ethertype: textColumn('ethertype'),
  },
  filters: {
    protocol: nullableTextFilter('security_group_rules', 'protocol'),
    port_range_min: nullableIntFilter('security_group_rules', 'port_range_min'),
    port_range_max: nullableIntFilter('security_group_rules', 'port_range_max'),
    remote_ip_prefix: nullableTextFilter('security_group_rules', 'remote_ip_prefix'),
    remote_group_id: nullableTextFilter('security_group_rules', 'remote_group_id'),
    remote_address_group_id: nullableTextFilter('security_group_rules', 'remote_address_group_id'),
  },
};

/** Rules are visible to admins, their own project and the owner of their group (rule:sg_owner). */
function visibleRules(tx: Tx, ctx: AuthContext) {
  const q = tx.selectFrom('security_group_rules').selectAll('security_group_rules');
  if (ctx.isAdmin) return q;
  return q.where((eb) =>
    eb.or([
      eb('security_group_rules.project_id', '=', ctx.projectId),
      eb(
        'security_group_rules.security_group_id',
        'in',
        eb.selectFrom('security_groups').select('security_groups.id').where('security_groups.project_id', '=', ctx.projectId),
      ),
    ]),
  );
}

const ruleListing = sqlListing(ruleTable, visibleRules, (_tx, rows) => rows.map(ruleToApi), ruleNotFound);

async function getVisibleRule(tx: Tx, ctx: AuthContext, id: string): Promise<SecurityGroupRuleRow> {
  const row = await visibleRules(tx, ctx).where('security_group_rules.id', '=', id).executeTakeFirst();
  if (!row) throw ruleNotFound(id);
  return row;
}

export function securityGroupRuleService(): ResourceService {
  return {
    spec: securityGroupRuleSpec,

    async list(tx, ctx, filters) {
      await ensureDefaultOnList(tx, ctx, filters);
      return ruleListing.list(tx, ctx, filters);
    },

    async listPage(tx, ctx, q) {
      await ensureDefaultOnList(tx, ctx, q.filters);
      return ruleListing.listPage(tx, ctx, q);
    },

    async show(tx, ctx, id) {
      return ruleToApi(await getVisibleRule(tx, ctx, id));
    },

    async create(tx, ctx, a) {
      const projectId = a.project_id as string;
      await enforceQuota(tx, projectId, 'security_group_rule');
      const rule = validateRule({
        security_group_id: a.security_group_id as string,
        direction: a.direction as string,
        ethertype: a.ethertype as string,
        protocol: a.protocol as string | null,
        port_range_min: a.port_range_min as number | null,
        port_range_max: a.port_range_max as number | null,
        remote_ip_prefix: a.remote_ip_prefix as string | null,
        remote_group_id: (a.remote_group_id as string | null) || null,
        remote_address_group_id: a.remote_address_group_id as string | null,
      } satisfies RuleFields);

      const posted = postedInTx.get(tx);
      if (posted && posted.groupId !== rule.security_group_id) {
        throw new NeutronError(400, 'SecurityGroupNotSingleGroupRules', 'Only allowed to update rules for one security profile at a time');
      }
      if (posted && posted.projectId !== projectId) {
        throw new NeutronError(
          400,
          'SecurityGroupRulesNotSingleTenant',
          'Multiple tenant_ids in bulk security group rule create not allowed',
        );
      }
      if (rule.remote_group_id) await groupForRule(tx, ctx, rule.remote_group_id, projectId);
      if (rule.remote_address_group_id) await checkAddressGroup(tx, ctx, rule.remote_address_group_id, projectId);
      await groupForRule(tx, ctx, rule.security_group_id, projectId);

      const key = ruleKey(rule);
      if (posted?.keys.has(key)) throw duplicateInPost();
      const existing = await tx
        .selectFrom('security_group_rules')
        .selectAll()
        .where('security_group_id', '=', rule.security_group_id)
        .execute();
      const same = existing.find((r) => ruleKey(r) === key);
      if (same) throw ruleExists(same.id);

      const now = timestamp();
      const row: SecurityGroupRuleRow = {
        id: newId(),
        project_id: projectId,
        security_group_id: rule.security_group_id,
        direction: rule.direction,
        ethertype: rule.ethertype,
        protocol: rule.protocol,
        port_range_min: rule.port_range_min,
        port_range_max: rule.port_range_max,
        remote_ip_prefix: rule.remote_ip_prefix,
        remote_group_id: rule.remote_group_id,
        remote_address_group_id: rule.remote_address_group_id,
        description: a.description as string,
        revision_number: 0,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('security_group_rules').values(row).execute();
      await touchGroup(tx, row.security_group_id);
      await recordChange(tx, 'security_group_rule', row.id, 'create', projectId);
      if (posted) posted.keys.add(key);
      else postedInTx.set(tx, { groupId: row.security_group_id, projectId, keys: new Set([key]) });
      return ruleToApi(row);
    },

    async update(tx, ctx, id, a) {
      const row = await getVisibleRule(tx, ctx, id);
      await tx
        .updateTable('security_group_rules')
        .set({
          description: 'description' in a ? (a.description as string) : row.description,
          revision_number: row.revision_number + 1,
          updated_at: timestamp(),
        })
        .where('id', '=', id)
        .execute();
      await touchGroup(tx, row.security_group_id);
      await recordChange(tx, 'security_group_rule', id, 'update', row.project_id);
      return ruleToApi(await tx.selectFrom('security_group_rules').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    },

    async remove(tx, ctx, id) {
      const row = await getVisibleRule(tx, ctx, id);
      await tx.deleteFrom('security_group_rules').where('id', '=', id).execute();
      await touchGroup(tx, row.security_group_id);
      await recordChange(tx, 'security_group_rule', id, 'delete', row.project_id);
    },
  };
}

/** Both security-group resources, in the order /v2.0 lists them. */
export const securityGroupServices = (): ResourceService[] => [securityGroupService(), securityGroupRuleService()];
