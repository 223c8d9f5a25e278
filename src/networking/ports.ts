// Ports: addresses (IPAM), MACs, bindings, security groups, port security and address pairs.
import { randomInt } from 'node:crypto';
import { sql, type Expression, type SqlBool } from 'kysely';
import { isPostgres } from '../store/dialect.ts';
import { boolColumn, pushFilters, sqlPage, standardColumns, textColumn, type ListTable } from './list-sql.ts';
import { composeRule, type ResourceSpec, standardAttributes, textAttribute } from '../model/attributes.ts';
import type { AuthContext } from '../model/context.ts';
import { attributesRead } from '../model/query.ts';
import { badRequest, conflict, forbidden, invalidInput, NeutronError, notFound, policyDenied } from '../model/errors.ts';
import { dhcpOptsOnCreate, dhcpOptsOnUpdate, parseDhcpOpts, type DhcpOpt, type DhcpOptRequest } from '../model/dhcp-opts.ts';
import { isEui64Address, parseIp, parsePrefix } from '../model/ip.ts';
import { canSeePort, isNetworkDevice, isOwner, ownerOrAdmin } from '../model/policy.ts';
import {
  isAddressPairs,
  isDict,
  isFixedIps,
  isMac,
  isOneOf,
  isString,
  isStringOrNull,
  isUuid,
  pythonJson,
  isUuidList,
  noneToEmptyList,
  normalizeMac,
  show,
  toBoolean,
  type Validator,
} from '../model/validators.ts';
import type { NetworkRow, PortRow } from '../store/schema/index.ts';
import {
  bool,
  int,
  newId,
  parseJson,
  recordChange,
  standardFields,
  timestamp,
  type Item,
  type ResourceService,
  type Tx,
} from './common.ts';
import { allocateFixedIps, type FixedIp, type FixedIpRequest } from './ipam.ts';
import { allocationRows, insertAllocations } from './ipam-store.ts';
import { prepared } from '../store/prepared.ts';
import { notePortChanged, notePortDeleted, notePortStatus } from './port-events.ts';
import { getVisibleNetwork, isNetworkSharedWith } from './networks.ts';
import { enforceQuota } from './quotas.ts';
import { enforceRouterDeviceOwner } from './router-common.ts';
import { DHCP_OWNER, FLOATINGIP_OWNER, IP_UPDATE_NOT_ALLOWED_OWNERS, ROUTER_OWNED } from '../model/neutron.ts';
import { macFromBinding, releasesDeviceMac } from '../model/port-mac.ts';
import { ensureDefaultSecurityGroup, isGroupSharedWith } from './securitygroups.ts';
import { tagAttributes, tagFiltersInSql } from './tags.ts';
import { deletePortForwardingsOfPort } from './port-forwarding-store.ts';
import { portListJson, type PortListJson } from './port-list-json.ts';

export const MAX_ALLOWED_ADDRESS_PAIRS = 10;

/** port-numa-affinity-policy's values (None included); neutron-lib's type:values message. */
const NUMA_AFFINITY_POLICIES: unknown[] = ['required', 'preferred', 'legacy', null];
const isNumaAffinityPolicy: Validator = (v) => (NUMA_AFFINITY_POLICIES.includes(v) ? undefined : `${show(v)} is not in valid_values`);

/** ml2's BINDING_PROFILE_LEN: the profile's JSON text is stored in a column this long. */
const BINDING_PROFILE_LEN = 4095;

/** The profile as stored; longer than ml2's column when Python writes it: InvalidInput. */
function bindingProfileJson(profile: unknown): string {
  if (pythonJson(profile).length > BINDING_PROFILE_LEN) throw invalidInput('binding:profile value too large');
  return JSON.stringify(profile);
}

/** portbindings.VNIC_TYPES. */
export const VNIC_TYPES = [
  'normal',
  'direct',
  'macvtap',
  'baremetal',
  'direct-physical',
  'virtio-forwarder',
  'smart-nic',
  'vdpa',
  'remote-managed',
];

/** One `fixed_ips` filter value (`ip_address=10.0.0.3`, as the CLI sends it) as key and wanted value. */
function fixedIpFilter(wanted: unknown): { key: string; want: string | undefined } {
  const [key, want] = String(wanted).split('=', 2);
  return { key, want };
}

/** `fixed_ips=ip_address=10.0.0.3` / `fixed_ips=subnet_id=…` filters, as the CLI sends them. */
function matchFixedIp(value: unknown, wanted: unknown): boolean {
  const { key, want } = fixedIpFilter(wanted);
  if (want === undefined) return false;
  // Only the three keys Neutron knows; any other key matches nothing (never a lookup on the prototype).
  return (value as FixedIp[]).some((f) =>
    key === 'ip_address_substr'
      ? f.ip_address.includes(want)
      : key === 'ip_address'
        ? f.ip_address === want
        : key === 'subnet_id' && f.subnet_id === want,
  );
}

/** matchFixedIp in SQL: a port with an allocation matching any of the values. */
function fixedIpsInSql(values: unknown[], tx: Tx): Expression<SqlBool> {
  const conds = values.map((wanted) => {
    const { key, want } = fixedIpFilter(wanted);
    if (want === undefined) return sql`1 = 0`;
    if (key === 'ip_address') return sql`a.ip_address = ${want}`;
    if (key === 'subnet_id') return sql`a.subnet_id = ${want}`;
    if (key === 'ip_address_substr') return isPostgres(tx) ? sql`strpos(a.ip_address, ${want}) > 0` : sql`instr(a.ip_address, ${want}) > 0`;
    return sql`1 = 0`;
  });
  if (!conds.length) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`exists (select 1 from ip_allocations a where a.port_id = ports.id and (${sql.join(conds, sql` or `)}))`;
}

/** A port in any of the groups. */
function securityGroupsInSql(values: unknown[]): Expression<SqlBool> | null {
  if (!values.every((v) => typeof v === 'string')) return null;
  if (!values.length) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`exists (select 1 from port_security_groups g where g.port_id = ports.id and g.security_group_id in (${sql.join(values)}))`;
}

/** The ports table as lists filter and sort it. */
const portTable: ListTable = {
  table: 'ports',
  columns: {
    ...standardColumns,
    network_id: textColumn('network_id'),
    admin_state_up: boolColumn('admin_state_up'),
    mac_address: textColumn('mac_address'),
    device_id: textColumn('device_id'),
    device_owner: textColumn('device_owner'),
    status: textColumn('status'),
    port_security_enabled: boolColumn('port_security_enabled'),
    'binding:host_id': textColumn('binding_host_id'),
    'binding:vnic_type': textColumn('binding_vnic_type'),
    'binding:vif_type': textColumn('binding_vif_type'),
  },
  filters: { fixed_ips: fixedIpsInSql, security_groups: securityGroupsInSql, ...tagFiltersInSql('ports') },
};

export const portSpec: ResourceSpec = {
  singular: 'port',
  plural: 'ports',
  attributes: {
    id: { filter: true, sort: true },
    name: textAttribute,
    description: { ...textAttribute, sort: false },
    network_id: { post: true, required: true, validate: isUuid, filter: true, sort: true },
    admin_state_up: { post: true, put: true, default: true, convert: toBoolean, filter: true, sort: true },
    // port-mac-address-regenerate: null asks for a new random MAC (convert_to_mac_if_none).
    mac_address: { post: true, put: true, convert: (v) => (v === null ? randomMac() : v), validate: isMac, filter: true, sort: true },
    fixed_ips: { post: true, put: true, validate: isFixedIps, filter: true, filterConvert: (v) => v, filterMatch: matchFixedIp },
    device_id: textAttribute,
    device_owner: textAttribute,
    status: { filter: true, sort: true },
    security_groups: { post: true, put: true, convert: noneToEmptyList, validate: isUuidList, filter: true },
    port_security_enabled: { post: true, put: true, convert: toBoolean, filter: true },
    allowed_address_pairs: { post: true, put: true, convert: noneToEmptyList, validate: isAddressPairs, filter: false },
    extra_dhcp_opts: { post: true, put: true, default: null, convert: parseDhcpOpts, filter: false },
    // null or '' unbinds (ml2's _process_port_binding_attributes: `host or ''`); Nova sends null.
    'binding:host_id': {
      post: true,
      put: true,
      default: '',
      convert: (v) => v ?? '',
      validate: isString(255),
      adminSet: true,
      adminRead: true,
      filter: true,
    },
    'binding:vnic_type': {
      post: true,
      put: true,
      default: 'normal',
      validate: isOneOf(VNIC_TYPES),
      filter: true,
    },
    // dict_or_none; null clears the profile.
    'binding:profile': {
      post: true,
      put: true,
      default: () => ({}),
      convert: (v) => v ?? {},
      validate: isDict,
      adminSet: true,
      adminRead: true,
      filter: false,
    },
    numa_affinity_policy: { post: true, put: true, default: null, validate: isNumaAffinityPolicy, filter: false },
    device_profile: { post: true, default: null, validate: isStringOrNull(255), filter: false },
    'binding:vif_type': { adminRead: true, filter: true },
    'binding:vif_details': { adminRead: true, filter: false },
    ip_allocation: { filter: false },
    ...standardAttributes,
    ...tagAttributes(true),
  },
};

/** The columns each port attribute is made from; the others (addresses, groups, tags) come from tables of their own. */
const PORT_COLUMNS: Record<string, ReadonlyArray<keyof PortRow>> = {
  id: ['id'],
  name: ['name'],
  network_id: ['network_id'],
  admin_state_up: ['admin_state_up'],
  mac_address: ['mac_address'],
  device_id: ['device_id'],
  device_owner: ['device_owner'],
  status: ['status'],
  port_security_enabled: ['port_security_enabled'],
  allowed_address_pairs: ['allowed_address_pairs'],
  extra_dhcp_opts: ['extra_dhcp_opts'],
  'binding:host_id': ['binding_host_id'],
  'binding:vnic_type': ['binding_vnic_type'],
  'binding:profile': ['binding_profile'],
  'binding:vif_type': ['binding_vif_type'],
  'binding:vif_details': ['binding_vif_details'],
  numa_affinity_policy: ['numa_affinity_policy'],
  device_profile: ['device_profile'],
  tenant_id: ['project_id'],
  project_id: ['project_id'],
  description: ['description'],
  created_at: ['created_at'],
  updated_at: ['updated_at'],
  revision_number: ['revision_number'],
};

/** The columns a list selects: those of the attributes `read` names (id always), or all of them (null). */
function portColumns(read: ReadonlySet<string> | null): Array<keyof PortRow> | null {
  if (!read) return null;
  const out = new Set<keyof PortRow>(['id']);
  for (const attr of read) for (const c of Object.hasOwn(PORT_COLUMNS, attr) ? PORT_COLUMNS[attr] : []) out.add(c);
  return [...out];
}

/** A JSON column's value; undefined when a list did not select the column (nobody reads the attribute). */
const jsonColumn = (text: string | undefined): unknown => (text === undefined ? undefined : parseJson(text));

/**
 * A port as the API shows it. From a list that selected only some columns (portColumns), the
 * attributes of the others are meaningless: nobody reads them.
 */
export function portToApi(row: PortRow, fixedIps: FixedIp[], groups: string[]): Item {
  return {
    id: row.id,
    name: row.name,
    network_id: row.network_id,
    admin_state_up: bool(row.admin_state_up),
    mac_address: row.mac_address,
    fixed_ips: fixedIps,
    device_id: row.device_id,
    device_owner: row.device_owner,
    status: row.status,
    security_groups: groups,
    port_security_enabled: bool(row.port_security_enabled),
    allowed_address_pairs: jsonColumn(row.allowed_address_pairs),
    extra_dhcp_opts: jsonColumn(row.extra_dhcp_opts),
    'binding:host_id': row.binding_host_id,
    'binding:vnic_type': row.binding_vnic_type,
    'binding:profile': jsonColumn(row.binding_profile),
    'binding:vif_type': row.binding_vif_type,
    'binding:vif_details': jsonColumn(row.binding_vif_details),
    ip_allocation: 'immediate',
    numa_affinity_policy: row.numa_affinity_policy,
    device_profile: row.device_profile,
    ...standardFields(row),
  };
}

/** Binding as the Linux bridge mechanism driver reports it once a host is set. */
export function binding(host: string) {
  return host
    ? { binding_vif_type: 'bridge', binding_vif_details: JSON.stringify({ port_filter: true, connectivity: 'l2' }) }
    : { binding_vif_type: 'unbound', binding_vif_details: '{}' };
}

/** A random MAC under Neutron's default base_mac (fa:16:3e:00:00:00). */
const randomMac = () => {
  // randomInt draws from a buffered pool; randomBytes allocates a buffer on every call.
  const hex = randomInt(0x1000000).toString(16).padStart(6, '0');
  return `fa:16:3e:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4)}`;
};

/** Whether a port of the network has the MAC. */
const portWithMac = prepared((db, v: { network: string; mac: string }) =>
  db.selectFrom('ports').select('id').where('network_id', '=', v.network).where('mac_address', '=', v.mac),
);
const macTaken = async (tx: Tx, network: string, mac: string) => (await portWithMac(tx, { network, mac })).rows.length > 0;

const insertPort = prepared((db, row: PortRow) => db.insertInto('ports').values(row));
const insertPortGroup = prepared((db, row: { port_id: string; security_group_id: string }) =>
  db.insertInto('port_security_groups').values(row),
);

async function generateMac(tx: Tx, networkId: string): Promise<string> {
  for (let attempt = 0; attempt < 16; attempt++) {
    const mac = randomMac();
    if (!(await macTaken(tx, networkId, mac))) return mac;
  }
  throw new NeutronError(503, 'MacAddressGenerationFailure', `Unable to generate unique mac on network ${networkId}.`);
}

const macInUse = (networkId: string, mac: string) =>
  conflict('MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);

/** Address pairs: need port security, at most 10, an ip_address each, no duplicates; MAC defaults to the port's. */
function normalizePairs(pairs: unknown[], mac: string, portSecurity: boolean) {
  if (pairs.length && !portSecurity) {
    throw conflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  }
  if (pairs.length > MAX_ALLOWED_ADDRESS_PAIRS) {
    throw new NeutronError(
      400,
      'AllowedAddressPairExhausted',
      `The number of allowed address pair exceeds the maximum ${MAX_ALLOWED_ADDRESS_PAIRS}.`,
    );
  }
  const seen = new Set<string>();
  return (pairs as Array<{ ip_address?: unknown; mac_address?: unknown }>).map((p) => {
    if (p.ip_address === undefined)
      throw new NeutronError(400, 'AllowedAddressPairsMissingIP', 'AllowedAddressPair must contain ip_address');
    const prefix = parsePrefix(p.ip_address);
    if (!prefix) throw badRequest(`Invalid input for allowed_address_pairs. Reason: '${show(p.ip_address)}' is not a valid IP address.`);
    const macValue = p.mac_address === undefined ? mac : p.mac_address;
    if (isMac(macValue)) throw badRequest(`Invalid input for allowed_address_pairs. Reason: ${isMac(macValue)}.`);
    const pair = { ip_address: String(p.ip_address), mac_address: normalizeMac(String(macValue)) };
    const key = `${pair.mac_address}|${pair.ip_address}`;
    if (seen.has(key)) {
      throw new NeutronError(
        400,
        'DuplicateAddressPairInRequest',
        `Request contains duplicate address pair: mac_address ${pair.mac_address} ip_address ${pair.ip_address}.`,
      );
    }
    seen.add(key);
    return pair;
  });
}

/**
 * _get_security_groups_on_port: the groups must be ones the caller sees and the port's project may use
 * — that project's own, or shared with it or everyone (rbac-security-groups).
 */
async function checkGroups(tx: Tx, ctx: AuthContext, ids: string[], portProject: string): Promise<void> {
  if (!ids.length) return;
  const rows = await tx.selectFrom('security_groups').select(['id', 'project_id', 'stateful']).where('id', 'in', ids).execute();
  const usableBy = async (g: { id: string; project_id: string }, project: string) =>
    g.project_id === project || (await isGroupSharedWith(tx, g.id, project));
  for (const id of ids) {
    const g = rows.find((r) => r.id === id);
    const ok = g && (ctx.isAdmin || ((await usableBy(g, ctx.projectId)) && (!portProject || (await usableBy(g, portProject)))));
    if (!ok) throw notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);
  }
  // _validate_sgs_for_port: a port's filtering is either with conntrack or without, not both.
  if (new Set(rows.map((r) => bool(r.stateful))).size > 1) {
    throw conflict(
      'SecurityGroupConflict',
      'Error Cannot apply both stateful and stateless security groups on the same port at the same time while attempting the operation.',
    );
  }
}

/** Attribute rules that need the network's owner or an admin (rule:admin_or_network_owner). */
function networkOwnerAttrs(a: Item, action: 'create' | 'update'): string[] {
  const out: string[] = [];
  if ('mac_address' in a) out.push('mac_address');
  if (Array.isArray(a.fixed_ips) && (a.fixed_ips as FixedIpRequest[]).some((f) => f.ip_address !== undefined))
    out.push('fixed_ips:ip_address');
  if (typeof a.device_owner === 'string' && isNetworkDevice(a.device_owner)) out.push('device_owner');
  if ('port_security_enabled' in a) out.push('port_security_enabled');
  if (Array.isArray(a.allowed_address_pairs) && a.allowed_address_pairs.length) out.push('allowed_address_pairs');
  void action;
  return out;
}

/**
 * A port's device on update. As _validate_port_for_update: the device after the update (an empty value
 * keeps the current one) must not be a router of another project than the port's. Beyond Neutron: a
 * port a router owns leaves that router (owner or device changed) only by that router's project or an
 * admin — not by the network's owner or the port's project detaching it behind the router's back.
 */
async function checkDeviceChange(tx: Tx, ctx: AuthContext, port: PortRow, a: Item): Promise<void> {
  const leaving = ('device_owner' in a && a.device_owner !== port.device_owner) || ('device_id' in a && a.device_id !== port.device_id);
  if (leaving)
    await enforceRouterDeviceOwner(tx, ctx, { device_owner: port.device_owner, device_id: port.device_id, project_id: ctx.projectId });
  await enforceRouterDeviceOwner(tx, ctx, {
    device_owner: (a.device_owner as string) || port.device_owner,
    device_id: (a.device_id as string) || port.device_id,
    project_id: port.project_id,
  });
}

export interface CreatePortOptions {
  /** Created by the server itself (router gateway, floating IP, DHCP): skips ownership policy and quota. */
  system?: boolean;
}

/** Creates a port; also used by routers, floating IPs and DHCP scheduling. */
export async function createPort(tx: Tx, ctx: AuthContext, a: Item, opts: CreatePortOptions = {}): Promise<Item> {
  const network = await (opts.system
    ? tx
        .selectFrom('networks')
        .selectAll()
        .where('id', '=', a.network_id as string)
        .executeTakeFirstOrThrow()
    : getVisibleNetwork(tx, ctx, a.network_id as string));
  const projectId = a.project_id as string;
  if (!opts.system && !ctx.isAdmin && !isOwner(ctx, network)) {
    if (!(await isNetworkSharedWith(tx, ctx, network.id)))
      throw forbidden(`Tenant ${ctx.projectId} not allowed to create port on this network`);
    const denied = networkOwnerAttrs(a, 'create');
    if (denied.length) throw policyDenied(composeRule('create', 'port', denied));
  }
  const deviceOwner = (a.device_owner as string) ?? '';
  await enforceRouterDeviceOwner(tx, ctx, { device_owner: deviceOwner, device_id: (a.device_id as string) ?? '', project_id: projectId });
  if (!opts.system) await enforceQuota(tx, projectId, 'port');

  const portSecurity = a.port_security_enabled === undefined ? bool(network.port_security_enabled) : (a.port_security_enabled as boolean);
  let groups = a.security_groups as string[] | undefined;
  if (groups === undefined) {
    // The port's project's own default group: nothing to check (as Neutron, which checks only requested groups).
    groups = portSecurity && !isNetworkDevice(deviceOwner) && projectId ? [await ensureDefaultSecurityGroup(tx, projectId)] : [];
  } else if (groups.length && !portSecurity) {
    throw new NeutronError(
      400,
      'PortSecurityAndIPRequiredForSecurityGroups',
      'Port security must be enabled and port must have an IP address in order to use security groups.',
    );
  } else {
    await checkGroups(tx, ctx, groups, projectId);
  }

  let mac: string;
  if (a.mac_address !== undefined) {
    mac = normalizeMac(a.mac_address as string);
    if (await macTaken(tx, network.id, mac)) throw macInUse(network.id, mac);
  } else {
    mac = await generateMac(tx, network.id);
  }
  const pairs = normalizePairs((a.allowed_address_pairs as unknown[]) ?? [], mac, portSecurity);
  const fixedIps = await allocateFixedIps(tx, network, a.fixed_ips as FixedIpRequest[] | undefined, {
    lowest: deviceOwner === DHCP_OWNER,
    port: { deviceOwner, mac },
  });

  const now = timestamp();
  const host = (a['binding:host_id'] as string) ?? '';
  const vnicType = (a['binding:vnic_type'] as string) ?? 'normal';
  const profile = bindingProfileJson(a['binding:profile'] ?? {});
  const row: PortRow = {
    id: (a.id as string) ?? newId(),
    project_id: projectId,
    name: (a.name as string) ?? '',
    description: (a.description as string) ?? '',
    network_id: network.id,
    admin_state_up: int(a.admin_state_up ?? true),
    mac_address: macFromBinding(null, { host, vnicType, profile }, randomMac) ?? mac,
    device_id: (a.device_id as string) ?? '',
    device_owner: deviceOwner,
    status: deviceOwner === FLOATINGIP_OWNER ? 'N/A' : 'DOWN',
    port_security_enabled: int(portSecurity),
    binding_host_id: host,
    binding_vnic_type: vnicType,
    ...binding(host),
    binding_profile: profile,
    allowed_address_pairs: JSON.stringify(pairs),
    extra_dhcp_opts: JSON.stringify(dhcpOptsOnCreate((a.extra_dhcp_opts as DhcpOptRequest[] | undefined) ?? [])),
    numa_affinity_policy: (a.numa_affinity_policy as string | null) ?? null,
    device_profile: (a.device_profile as string | null) ?? null,
    revision_number: 0,
    created_at: now,
    updated_at: now,
  };
  await insertPort(tx, row);
  await insertAllocations(tx, allocationRows(fixedIps, row.id, network.id));
  for (const g of groups) await insertPortGroup(tx, { port_id: row.id, security_group_id: g });
  await recordChange(tx, 'port', row.id, 'create', projectId);
  return portToApi(row, fixedIps, groups);
}

/** The ports' addresses and groups; either is left empty when `read` says nobody reads it. */
async function loadExtras(tx: Tx, portIds: string[] | 'all', read: ReadonlySet<string> | null = null) {
  let ips = tx.selectFrom('ip_allocations').select(['port_id', 'subnet_id', 'ip_address']);
  // By group id within each port (the primary key's order, as Neutron's MySQL gives them): a port
  // shows its groups in the same order alone, in a short list and in a long one.
  let sgs = tx.selectFrom('port_security_groups').selectAll().orderBy('port_id').orderBy('security_group_id');
  if (portIds !== 'all') {
    if (!portIds.length) return { ips: new Map<string, FixedIp[]>(), groups: new Map<string, string[]>() };
    ips = ips.where('port_id', 'in', portIds);
    sgs = sgs.where('port_id', 'in', portIds);
  }
  const wanted = (attr: string) => !read || read.has(attr);
  const ipMap = new Map<string, FixedIp[]>();
  for (const r of wanted('fixed_ips') ? await ips.execute() : []) {
    const list = ipMap.get(r.port_id) ?? [];
    list.push({ subnet_id: r.subnet_id, ip_address: r.ip_address });
    ipMap.set(r.port_id, list);
  }
  const sgMap = new Map<string, string[]>();
  for (const r of wanted('security_groups') ? await sgs.execute() : []) {
    const list = sgMap.get(r.port_id) ?? [];
    list.push(r.security_group_id);
    sgMap.set(r.port_id, list);
  }
  return { ips: ipMap, groups: sgMap };
}

export async function portsToApi(tx: Tx, rows: PortRow[], all = false, read: ReadonlySet<string> | null = null): Promise<Item[]> {
  const extras = await loadExtras(tx, all ? 'all' : rows.map((r) => r.id), read);
  return rows.map((r) => portToApi(r, extras.ips.get(r.id) ?? [], extras.groups.get(r.id) ?? []));
}

/** A port the caller may see, with its network, or PortNotFound. */
export async function getVisiblePort(tx: Tx, ctx: AuthContext, id: string): Promise<{ port: PortRow; network: NetworkRow }> {
  const port = await tx.selectFrom('ports').selectAll().where('id', '=', id).executeTakeFirst();
  const network = port && (await tx.selectFrom('networks').selectAll().where('id', '=', port.network_id).executeTakeFirst());
  if (!port || !network || !canSeePort(ctx, port, network)) throw notFound('PortNotFound', `Port ${id} could not be found.`);
  return { port, network };
}

/** VIF_UNPLUGGED_TYPES: a port whose binding has none of these is plugged, and keeps its MAC. */
const VIF_UNPLUGGED_TYPES = ['unbound', 'binding_failed'];

/**
 * l3-port-ip-change-not-allowed: a port of a router's (an owner in the L3 plugin's
 * IP_UPDATE_NOT_ALLOWED_LIST, a device that is a router here) keeps its IPv4 addresses.
 */
async function isBuiltInRouterPort(tx: Tx, port: PortRow): Promise<boolean> {
  if (!IP_UPDATE_NOT_ALLOWED_OWNERS.includes(port.device_owner)) return false;
  return Boolean(await tx.selectFrom('routers').select('id').where('id', '=', port.device_id).executeTakeFirst());
}

async function updatePort(tx: Tx, ctx: AuthContext, id: string, a: Item): Promise<Item> {
  const { port, network } = await getVisiblePort(tx, ctx, id);
  if (!ctx.isAdmin && !isOwner(ctx, network)) {
    const denied = networkOwnerAttrs(a, 'update');
    if (denied.length) throw policyDenied(composeRule('update', 'port', denied));
  }
  await checkDeviceChange(tx, ctx, port, a);
  if ('mac_address' in a && normalizeMac(a.mac_address as string) !== port.mac_address) {
    if (!ctx.isAdmin) throw policyDenied(composeRule('update', 'port', ['mac_address']));
    if (!VIF_UNPLUGGED_TYPES.includes(port.binding_vif_type)) {
      throw conflict(
        'PortBound',
        `Unable to complete operation on port ${id}, port is already bound, port type: ${port.binding_vif_type}, old_mac ${port.mac_address}, new_mac ${a.mac_address}.`,
      );
    }
    const taken = await tx
      .selectFrom('ports')
      .select('id')
      .where('network_id', '=', network.id)
      .where('mac_address', '=', normalizeMac(a.mac_address as string))
      .executeTakeFirst();
    if (taken) throw macInUse(network.id, a.mac_address as string);
  }
  if (releasesDeviceMac(port.binding_vnic_type, port.device_id, a)) a = { ...a, mac_address: randomMac() };
  const current = (await portsToApi(tx, [port]))[0];
  const portSecurity = 'port_security_enabled' in a ? (a.port_security_enabled as boolean) : bool(port.port_security_enabled);
  const groups = (a.security_groups as string[] | undefined) ?? (current.security_groups as string[]);
  if (!portSecurity && groups.length) {
    if ('security_groups' in a) {
      throw new NeutronError(
        400,
        'PortSecurityAndIPRequiredForSecurityGroups',
        'Port security must be enabled and port must have an IP address in order to use security groups.',
      );
    }
    throw conflict(
      'PortSecurityPortHasSecurityGroup',
      'Port has security group associated. Cannot disable port security or ip address until security group is removed',
    );
  }
  if ('security_groups' in a) await checkGroups(tx, ctx, groups, port.project_id);
  const mac = 'mac_address' in a ? normalizeMac(a.mac_address as string) : port.mac_address;
  const pairs = normalizePairs(
    (a.allowed_address_pairs as unknown[]) ?? parseJson<unknown[]>(port.allowed_address_pairs),
    mac,
    portSecurity,
  );

  const macChanged = mac !== port.mac_address;
  if ('fixed_ips' in a || macChanged) {
    const held = current.fixed_ips as FixedIp[];
    // A new MAC alone re-derives the port's EUI-64 addresses and keeps the others (update_port_with_ips).
    const requests =
      'fixed_ips' in a
        ? (a.fixed_ips as FixedIpRequest[])
        : held.map((h) => (isEui64Address(h.ip_address) ? { subnet_id: h.subnet_id } : { ...h }));
    const next = await allocateFixedIps(tx, network, requests, {
      lowest: port.device_owner === DHCP_OWNER,
      port: { deviceOwner: port.device_owner, mac },
      keep: held,
      macChanged,
    });
    const differs = (x: FixedIp[]) => (f: FixedIp) => !x.some((y) => y.ip_address === f.ip_address && y.subnet_id === f.subnet_id);
    const dropped = held.filter(differs(next));
    const ipv4Changed = [...dropped, ...next.filter(differs(held))].some((f) => parseIp(f.ip_address)?.version === 4);
    if (ipv4Changed && (await isBuiltInRouterPort(tx, port))) {
      // ipam's IPAddressChangeNotAllowed, re-raised by update_port as BadRequest(resource='ports').
      throw badRequest(`Bad ports request: IP updates for port ${id} are not allowed.`, 'BadRequest');
    }
    for (const d of dropped) {
      const fip = await tx
        .selectFrom('floatingips')
        .select('id')
        .where('fixed_port_id', '=', id)
        .where('fixed_ip_address', '=', d.ip_address)
        .executeTakeFirst();
      if (fip) throw badRequest(`Cannot update the fixed IP ${d.ip_address} of port ${id}: floating IP ${fip.id} uses it.`, 'BadRequest');
    }
    // _process_port_request on AFTER_UPDATE: forwardings to an address the port gave up go with it.
    await deletePortForwardingsOfPort(
      tx,
      id,
      dropped.map((d) => d.ip_address),
    );
    await tx.deleteFrom('ip_allocations').where('port_id', '=', id).execute();
    if (next.length)
      await tx
        .insertInto('ip_allocations')
        .values(allocationRows(next, id, network.id))
        .execute();
  }
  if ('security_groups' in a) {
    await tx.deleteFrom('port_security_groups').where('port_id', '=', id).execute();
    if (groups.length)
      await tx
        .insertInto('port_security_groups')
        .values(groups.map((g) => ({ port_id: id, security_group_id: g })))
        .execute();
  }
  const host = 'binding:host_id' in a ? (a['binding:host_id'] as string) : port.binding_host_id;
  const vnicType = (a['binding:vnic_type'] as string) ?? port.binding_vnic_type;
  const profile = 'binding:profile' in a ? bindingProfileJson(a['binding:profile']) : port.binding_profile;
  const before = { host: port.binding_host_id, vnicType: port.binding_vnic_type, profile: port.binding_profile };
  const boundMac = macFromBinding(before, { host, vnicType, profile }, randomMac);
  await tx
    .updateTable('ports')
    .set({
      name: (a.name as string) ?? port.name,
      description: (a.description as string) ?? port.description,
      admin_state_up: 'admin_state_up' in a ? int(a.admin_state_up) : port.admin_state_up,
      mac_address: boundMac ?? mac,
      device_id: (a.device_id as string) ?? port.device_id,
      device_owner: (a.device_owner as string) ?? port.device_owner,
      port_security_enabled: int(portSecurity),
      binding_host_id: host,
      ...(host !== port.binding_host_id ? { ...binding(host), status: 'DOWN' } : {}),
      binding_vnic_type: vnicType,
      binding_profile: profile,
      numa_affinity_policy: 'numa_affinity_policy' in a ? (a.numa_affinity_policy as string | null) : port.numa_affinity_policy,
      allowed_address_pairs: JSON.stringify(pairs),
      extra_dhcp_opts:
        'extra_dhcp_opts' in a
          ? JSON.stringify(dhcpOptsOnUpdate(parseJson<DhcpOpt[]>(port.extra_dhcp_opts), a.extra_dhcp_opts as DhcpOptRequest[]))
          : port.extra_dhcp_opts,
      revision_number: port.revision_number + 1,
      updated_at: timestamp(),
    })
    .where('id', '=', id)
    .execute();
  await recordChange(tx, 'port', id, 'update', port.project_id);
  const { port: updated } = await getVisiblePort(tx, { ...ctx, isAdmin: true }, id);
  notePortStatus(tx, updated, port.status, updated.status);
  // Neutron's notifier sends network-changed after every API update of an instance's port, whatever changed.
  notePortChanged(tx, updated);
  return (await portsToApi(tx, [updated]))[0];
}

/** Deletes a port and what hangs off it; `system` skips the service-port guard (router/FIP code). */
export async function deletePort(tx: Tx, ctx: AuthContext, id: string, system = false): Promise<void> {
  const { port, network } = system ? await getVisiblePort(tx, { ...ctx, isAdmin: true }, id) : await getVisiblePort(tx, ctx, id);
  if (!system) {
    if (!ownerOrAdmin(ctx, port) && !isOwner(ctx, network)) throw policyDenied('rule:delete_port');
    const guarded =
      (ROUTER_OWNED.includes(port.device_owner) &&
        (await tx.selectFrom('routers').select('id').where('id', '=', port.device_id).executeTakeFirst())) ||
      (port.device_owner === FLOATINGIP_OWNER &&
        (await tx.selectFrom('floatingips').select('id').where('floating_port_id', '=', id).executeTakeFirst()));
    if (guarded) {
      throw conflict('ServicePortInUse', `Port ${id} cannot be deleted directly via the port API: has device owner ${port.device_owner}.`);
    }
  }
  await deletePortForwardingsOfPort(tx, id);
  // Deleting an instance's port disassociates its floating IPs (l3_db.disassociate_floatingips).
  const fips = await tx.selectFrom('floatingips').select(['id', 'project_id']).where('fixed_port_id', '=', id).execute();
  for (const f of fips) {
    await tx
      .updateTable('floatingips')
      .set({ fixed_port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', updated_at: timestamp() })
      .where('id', '=', f.id)
      .execute();
    await recordChange(tx, 'floatingip', f.id, 'update', f.project_id);
  }
  await tx.deleteFrom('ports').where('id', '=', id).execute();
  await recordChange(tx, 'port', id, 'delete', port.project_id);
  notePortDeleted(tx, port);
}

/**
 * The ports the caller sees: its project's, and every port on its project's networks; all their
 * columns, or only `columns` (the rows then hold only those).
 */
function visiblePorts(tx: Tx, ctx: AuthContext, columns: Array<keyof PortRow> | null = null) {
  const q = columns
    ? (tx.selectFrom('ports').select(columns.map((c) => `ports.${c}` as const)) as unknown as ReturnType<typeof selectAllPorts>)
    : selectAllPorts(tx);
  if (ctx.isAdmin) return q;
  return q
    .innerJoin('networks', 'networks.id', 'ports.network_id')
    .where((eb) => eb.or([eb('ports.project_id', '=', ctx.projectId), eb('networks.project_id', '=', ctx.projectId)]));
}

const selectAllPorts = (tx: Tx) => tx.selectFrom('ports').selectAll('ports');

/** A port's keys as portToApi makes them (a row of any values: only the keys count). */
const PORT_KEYS = Object.keys(
  portToApi(Object.fromEntries(Object.values(PORT_COLUMNS).flatMap((cols) => cols.map((c) => [c, '{}']))) as unknown as PortRow, [], []),
);

const portJson: PortListJson = {
  spec: portSpec,
  table: portTable,
  keys: PORT_KEYS,
  visible: (tx, ctx) => visiblePorts(tx, ctx, ['id']) as unknown as ReturnType<PortListJson['visible']>,
};

export function portService(): ResourceService {
  return {
    spec: portSpec,
    readOnlyGets: true,

    async list(tx, ctx, filters, read) {
      const { query } = pushFilters(tx, portTable, visiblePorts(tx, ctx, portColumns(read ?? null)), filters);
      const rows = await query.execute();
      return portsToApi(tx, rows, rows.length > 200, read);
    },

    async listPage(tx, ctx, q) {
      const read = attributesRead(q);
      const page = await sqlPage(tx, portTable, visiblePorts(tx, ctx, portColumns(read)), q, (id) =>
        notFound('PortNotFound', `Port ${id} could not be found.`),
      );
      return page && { items: await portsToApi(tx, page.rows, false, read), hasMore: page.hasMore, hasBefore: page.hasBefore };
    },

    listJson: (tx, ctx, q, how) => portListJson(tx, ctx, q, portJson, how),

    async show(tx, ctx, id) {
      return (await portsToApi(tx, [(await getVisiblePort(tx, ctx, id)).port]))[0];
    },

    create: (tx, ctx, a) => createPort(tx, ctx, a),
    update: updatePort,
    remove: (tx, ctx, id) => deletePort(tx, ctx, id),
  };
}
