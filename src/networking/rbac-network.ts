// RBAC on networks (neutron/db/db_base_plugin_v2.py::_validate_network_rbac_policy_change and
// neutron/db/external_net_db.py): only the owner or an admin shares a network; access_as_external makes
// it external; a policy goes only while the project losing it has no port on the network (shared) or
// no router with its gateway there (external).
import type { AuthContext } from '../model/context.ts';
import { invalidInput, NeutronError } from '../model/errors.ts';
import type { NetworkRow, RbacPolicyRow } from '../store/schema/index.ts';
import type { Tx } from './common.ts';
import { applyExternalFlag, getVisibleNetwork, invalidSharedSetting } from './networks.ts';
import { inCallback, rbacPolicyInUse, type NewRbacPolicy, type RbacObjectType } from './rbac-callbacks.ts';
import { ACCESS_EXTERNAL, ACCESS_SHARED, policiesOf, WILDCARD } from './rbac-sql.ts';

const PLUGIN = 'neutron.plugins.ml2.plugin.Ml2Plugin';
const SHARED_CALLBACK = `${PLUGIN}.validate_network_rbac_policy_change`;
const EXTERNAL_CREATE_CALLBACK = `${PLUGIN}._process_ext_policy_create`;
const EXTERNAL_CHANGE_CALLBACK = `${PLUGIN}._validate_ext_not_in_use_by_tenant`;

/** The network the policy names, as the caller sees it, if the caller owns it or is admin. */
async function ownNetwork(tx: Tx, ctx: AuthContext, p: NewRbacPolicy): Promise<NetworkRow> {
  const net = await getVisibleNetwork(tx, ctx, p.object_id);
  if (!ctx.isAdmin && net.project_id !== ctx.projectId) {
    throw invalidInput('Only admins can manipulate policies on networks they do not own');
  }
  return net;
}

/**
 * ensure_no_tenant_ports_on_network: `target` ('*': every project without a policy of its own) has no
 * port on the network (the network's owner always may).
 */
async function ensureNoTenantPorts(tx: Tx, net: NetworkRow, target: string): Promise<void> {
  const shared = await policiesOf(tx, 'network', net.id, ACCESS_SHARED);
  let ports = tx.selectFrom('ports').select('id').where('network_id', '=', net.id);
  if (target === WILDCARD) {
    const allowed = [...shared.map((s) => s.target_project).filter((t) => t !== WILDCARD), net.project_id];
    ports = ports.where('project_id', 'not in', allowed);
  } else {
    if (shared.some((s) => s.target_project === WILDCARD)) return;
    ports = ports.where('project_id', '=', target);
  }
  if (await ports.executeTakeFirst()) throw invalidSharedSetting(net.id);
}

/** The access_as_shared policy's project may lose access: the network's owner, or one without ports there. */
async function checkSharedRemoval(tx: Tx, ctx: AuthContext, p: RbacPolicyRow, target: string | undefined): Promise<void> {
  const net = await getVisibleNetwork(tx, ctx, p.object_id);
  if (p.target_project === net.project_id || target === undefined) return;
  await ensureNoTenantPorts(tx, net, target);
}

/**
 * _validate_ext_not_in_use_by_tenant: no router of the project losing access (for '*': of any project
 * without a policy of its own, `newTarget` counting as one) has its gateway on the network.
 */
async function checkExternalRemoval(tx: Tx, p: RbacPolicyRow, newTarget?: string): Promise<void> {
  if (newTarget === p.target_project) return;
  const external = await policiesOf(tx, 'network', p.object_id, ACCESS_EXTERNAL);
  let routers = tx
    .selectFrom('routers')
    .innerJoin('ports', 'ports.id', 'routers.gw_port_id')
    .select('routers.id')
    .where('ports.network_id', '=', p.object_id);
  if (p.target_project !== WILDCARD) {
    if (external.some((e) => e.target_project === WILDCARD)) return;
    routers = routers.where('routers.project_id', '=', p.target_project);
  } else {
    const withEntries = external.map((e) => e.target_project).filter((t) => t !== WILDCARD);
    if (newTarget) withEntries.push(newTarget);
    if (withEntries.length) routers = routers.where('routers.project_id', 'not in', withEntries);
  }
  if (await routers.executeTakeFirst()) {
    throw rbacPolicyInUse(p.object_id, 'There are routers attached to this network that depend on this policy for access.');
  }
}

export const networkRbac: RbacObjectType = {
  actions: [ACCESS_SHARED, ACCESS_EXTERNAL],

  async beforeCreate(tx, ctx, p) {
    if (p.action === ACCESS_SHARED) await inCallback(SHARED_CALLBACK, () => ownNetwork(tx, ctx, p));
    if (p.action !== ACCESS_EXTERNAL) return;
    const net = await inCallback(EXTERNAL_CREATE_CALLBACK, () => ownNetwork(tx, ctx, p));
    // A policy for one project makes the network external without opening it to everyone.
    if (!net.router_external) await applyExternalFlag(tx, net, true, false);
  },

  async beforeUpdate(tx, ctx, p, newTarget) {
    if (p.action === ACCESS_SHARED) {
      await inCallback(SHARED_CALLBACK, async () => {
        await ownNetwork(tx, ctx, p);
        await checkSharedRemoval(tx, ctx, p, newTarget !== p.target_project ? p.target_project : undefined);
      });
    }
    if (p.action === ACCESS_EXTERNAL) await inCallback(EXTERNAL_CHANGE_CALLBACK, () => checkExternalRemoval(tx, p, newTarget));
  },

  async beforeDelete(tx, ctx, p) {
    if (p.action === ACCESS_SHARED) await inCallback(SHARED_CALLBACK, () => checkSharedRemoval(tx, ctx, p, p.target_project));
    if (p.action === ACCESS_EXTERNAL) await inCallback(EXTERNAL_CHANGE_CALLBACK, () => checkExternalRemoval(tx, p));
  },

  /** _process_ext_policy_delete: the last access_as_external policy gone, the network is internal again (unless a gateway holds it). */
  async afterDelete(tx, p) {
    if (p.action !== ACCESS_EXTERNAL || (await policiesOf(tx, 'network', p.object_id, ACCESS_EXTERNAL)).length) return;
    const net = await tx.selectFrom('networks').selectAll().where('id', '=', p.object_id).executeTakeFirst();
    // Neutron logs the ExternalNetworkInUse of an AFTER_DELETE callback and keeps the network external.
    if (!net) return;
    try {
      await applyExternalFlag(tx, net, false);
    } catch (e) {
      if (!(e instanceof NeutronError)) throw e;
    }
  },
};
