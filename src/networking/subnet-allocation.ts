// A new subnet's CIDR from a subnet pool (create_subnet's pool parts: _get_subnetpool_id,
// ipam allocate_subnet and SubnetAllocator, _validate_network_subnetpools): which pool a request names
// (or the default one of its family), the prefix taken from the pool's free space or the one asked
// for checked against it, the pool's per-project quota, and a network's subnets of one family coming
// from one pool or one address scope.
import type { AuthContext } from '../model/context.ts';
import { badRequest } from '../model/errors.ts';
import { nthAddress, parseIp, parsePrefix, prefixOf, type Cidr, type IpVersion } from '../model/ip.ts';
import { defaultPools, type Pool } from '../model/ipam.ts';
import { availablePrefixes, checkPoolQuota, checkPrefixlen, checkSpecificSubnet, chooseAnySubnet } from '../model/subnetpool.ts';
import type { SubnetPoolRow } from '../store/schema/index.ts';
import { newId, parseJson, type Item, type Tx } from './common.ts';
import { checkedGateway, checkSubnetRequest } from './subnet-requests.ts';
import { defaultSubnetPool, getVisibleSubnetPool } from './subnetpools.ts';

/** The CIDR, gateway and allocation pools of a new subnet. */
export interface SubnetSpace {
  cidr: Cidr;
  gateway: string | null;
  pools: Pool[];
}

/** exc.BadRequest(resource='subnets', msg=…) */
const badSubnets = (msg: string) => badRequest(`Bad subnets request: ${msg}.`, 'BadRequest');

const isSet = (v: unknown) => v !== undefined && v !== null;

/**
 * The pool a create names (subnetpool_id, or use_default_subnetpool for the request's family), or
 * null for a request that gives its own CIDR.
 */
export async function requestedSubnetPool(tx: Tx, ctx: AuthContext, a: Item): Promise<SubnetPoolRow | null> {
  const hasCidr = isSet(a.cidr);
  if (hasCidr && a.prefixlen !== undefined) throw badSubnets('cidr and prefixlen must not be supplied together');
  const poolId = a.subnetpool_id as string | null | undefined;
  if (a.use_default_subnetpool && poolId) throw badSubnets('subnetpool_id and use_default_subnetpool cannot both be specified');
  let pool: SubnetPoolRow | null = null;
  if (poolId) {
    pool = await getVisibleSubnetPool(tx, ctx, poolId);
  } else if (a.use_default_subnetpool) {
    const version = hasCidr ? parsePrefix(a.cidr)!.version : (a.ip_version as number);
    pool = (await defaultSubnetPool(tx, ctx, version)) ?? null;
    if (!pool) throw badSubnets(`No default subnetpool found for IPv${version}`);
  }
  if (!pool && !hasCidr) throw badSubnets('a subnetpool must be specified in the absence of a cidr');
  // validate_pools_with_subnetpool (its message ends in a period of its own, as Neutron's does)
  if (pool && !hasCidr && isSet(a.allocation_pools)) throw badSubnets('allocation_pools allowed only for specific subnet requests.');
  return pool;
}

/** _validate_ip_version_with_subnetpool */
function checkPoolFamily(pool: SubnetPoolRow, a: Item): void {
  if (a.ip_version !== pool.ip_version) {
    throw badSubnets(`Cannot allocate IPv${String(a.ip_version)} subnet from IPv${pool.ip_version} subnet pool`);
  }
}

/**
 * _lock_subnetpool: replacing the pool's hash takes its row, so concurrent allocations from one pool
 * run one after the other and each reads the subnets the one before committed. The pool is read again
 * under the lock (its prefixes may have changed meanwhile).
 */
async function lockPool(tx: Tx, poolId: string): Promise<SubnetPoolRow> {
  await tx.updateTable('subnetpools').set({ hash: newId() }).where('id', '=', poolId).execute();
  return tx.selectFrom('subnetpools').selectAll().where('id', '=', poolId).executeTakeFirstOrThrow();
}

/** The pool's free space and the project's use of it, read under the pool's lock. */
async function poolState(tx: Tx, poolId: string, projectId: string) {
  const pool = await lockPool(tx, poolId);
  const subnets = await tx.selectFrom('subnets').select(['cidr', 'project_id']).where('subnetpool_id', '=', poolId).execute();
  const version = pool.ip_version as IpVersion;
  return {
    pool,
    available: availablePrefixes(
      version,
      parseJson<string[]>(pool.prefixes),
      subnets.map((s) => s.cidr),
    ),
    usedByProject: subnets.filter((s) => s.project_id === projectId).map((s) => s.cidr),
  };
}

/** A request that names its CIDR (or a gateway, whose prefix then is the CIDR): the CIDR must be free in the pool. */
async function allocateSpecific(tx: Tx, poolRow: SubnetPoolRow, a: Item, space: SubnetSpace): Promise<SubnetSpace> {
  checkPrefixlen(poolRow, space.cidr.prefixLength);
  const { pool, available, usedByProject } = await poolState(tx, poolRow.id, a.project_id as string);
  checkPoolQuota(pool.ip_version as IpVersion, pool.default_quota, usedByProject, space.cidr.prefixLength);
  checkSpecificSubnet(available, space.cidr);
  return space;
}

/**
 * The space of a subnet from a pool: the CIDR the request gives (`own`, already validated), one from
 * its gateway and prefix length, or the first free block of the prefix length (the pool's default
 * unless given), whose first address is the gateway unless the request asks for none.
 */
export async function allocateFromPool(tx: Tx, pool: SubnetPoolRow, a: Item, own: () => SubnetSpace): Promise<SubnetSpace> {
  if (isSet(a.cidr)) {
    const space = own();
    checkPoolFamily(pool, a);
    return allocateSpecific(tx, pool, a, space);
  }
  checkSubnetRequest(a, null);
  checkPoolFamily(pool, a);
  const prefixlen = (a.prefixlen as number | undefined) ?? pool.default_prefixlen;
  if (isSet(a.gateway_ip)) {
    const cidr = prefixOf(parseIp(a.gateway_ip)!, prefixlen);
    const gateway = checkedGateway(cidr, a.gateway_ip as string);
    return allocateSpecific(tx, pool, a, { cidr, gateway, pools: defaultPools(cidr, gateway) });
  }
  checkPrefixlen(pool, prefixlen);
  const state = await poolState(tx, pool.id, a.project_id as string);
  checkPoolQuota(state.pool.ip_version as IpVersion, state.pool.default_quota, state.usedByProject, prefixlen);
  const cidr = chooseAnySubnet(state.available, prefixlen);
  const gateway = a.gateway_ip === null ? null : nthAddress(cidr, 1n);
  return { cidr, gateway, pools: defaultPools(cidr, gateway) };
}

/**
 * _validate_network_subnetpools: a network's subnets of one family come from one pool, or from pools
 * of the one address scope the network already has for that family.
 */
export async function checkNetworkPoolAffinity(tx: Tx, networkId: string, version: number, pool: SubnetPoolRow | null): Promise<void> {
  const subnets = await tx
    .selectFrom('subnets')
    .leftJoin('subnetpools', 'subnetpools.id', 'subnets.subnetpool_id')
    .select(['subnets.ip_version', 'subnets.subnetpool_id', 'subnetpools.address_scope_id'])
    .where('subnets.network_id', '=', networkId)
    .execute();
  const scope = subnets.find((s) => s.ip_version === version && s.address_scope_id)?.address_scope_id ?? null;
  if (scope && pool?.address_scope_id !== scope) {
    throw badRequest(
      'Subnets of the same address family hosted on the same network must all participate in the same address scope.',
      'NetworkAddressScopeAffinityError',
    );
  }
  const mixed = subnets.some((s) =>
    pool ? s.subnetpool_id !== pool.id && s.ip_version === pool.ip_version && !scope : s.subnetpool_id && s.ip_version === version,
  );
  if (mixed) {
    throw badRequest('Subnets hosted on the same network must be allocated from the same subnet pool.', 'NetworkSubnetPoolAffinityError');
  }
}
