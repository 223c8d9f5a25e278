// Builds the HostView of one node: the resources its agent turns into kernel state.
import type {
  AddressGroupView,
  AddressScopesView,
  HostView,
  NetworkView,
  PortView,
  RouterSubnetView,
  RouterView,
  SegmentView,
  SecurityGroupView,
  SubnetView,
} from '../model/hostview.ts';
import type { PortRow } from '../store/schema/index.ts';
import { bool, parseJson, type Tx } from './common.ts';
import { segmentsByNetwork } from './segments.ts';
import { portsToApi } from './ports.ts';
import { AGENT_L2, ROUTER_OWNED } from '../model/neutron.ts';
import { haRouterNetworks, NO_ADDRESS_SCOPES, routerPorts } from '../model/router-view.ts';
import { portView } from '../model/port-view.ts';
import { meteringLabelsOf } from './metering.ts';
import type { SnapshotMemo } from './hostview-memo.ts';
import { memberEntry, remoteEntry, remotePortOf, type HostViewNotes } from '../model/hostview-deps.ts';

/** What a port query of the view reads: enough to choose the ports and order them (see views). */
const PORT_KEY = ['id', 'network_id', 'binding_host_id'] as const;
type PortKey = Pick<PortRow, (typeof PORT_KEY)[number]>;

/** Ports read by id at a time: well under both engines' limits on bound parameters. */
const BY_ID_CHUNK = 500;

/**
 * The ports' views, in the keys' order. Only the ports neither the memo nor its lender holds are
 * read whole, by id: on a big host a change leaves all but a few views held, and reading every
 * row whole was half of a rebuild. The build runs in one snapshot (HostViewUpdates.full), so every
 * key's row is there.
 */
async function views(tx: Tx, keys: readonly PortKey[], memo: SnapshotMemo | null = null): Promise<PortView[]> {
  const held = memo?.ports ?? new Map<string, PortView>();
  const missing: string[] = [];
  for (const { id } of keys) {
    if (held.has(id)) continue;
    const lent = memo?.lender?.get(id, memo.revision);
    if (lent) held.set(id, lent);
    else missing.push(id);
  }
  for (let i = 0; i < missing.length; i += BY_ID_CHUNK) {
    const rows = await tx
      .selectFrom('ports')
      .selectAll()
      .where('id', 'in', missing.slice(i, i + BY_ID_CHUNK))
      .execute();
    (await portsToApi(tx, rows)).forEach((p, j) => {
      const view = portView(p);
      held.set(rows[j]!.id, view);
      if (memo) memo.lender?.put(rows[j]!.id, view, memo.revision);
    });
  }
  return keys.map(({ id }) => {
    const view = held.get(id);
    if (!view) throw new Error(`port ${id} listed but not read in the same snapshot`);
    return view;
  });
}

/** Each host's VXLAN endpoint, from its L2 agent's reported `tunneling_ip`. */
async function vteps(tx: Tx): Promise<Map<string, string>> {
  const agents = await tx.selectFrom('agents').select(['host', 'configurations']).where('agent_type', '=', AGENT_L2).execute();
  const out = new Map<string, string>();
  for (const a of agents) {
    const ip = parseJson<{ tunneling_ip?: string }>(a.configurations).tunneling_ip;
    if (ip) out.set(a.host, ip);
  }
  return out;
}

// Every read below has a total order (ties broken by id): the agent's rules and devices come out in
// the same order on every engine, and the tracer rebuilds the same order from the API's lists.
/** The groups, and which port gave each member address of the remote ones. */
interface GroupsRead {
  groups: SecurityGroupView[];
  members: Array<{ port: string; group: string; ip: string }>;
}

async function securityGroups(tx: Tx, ids: string[]): Promise<GroupsRead> {
  if (!ids.length) return { groups: [], members: [] };
  const groups = await tx.selectFrom('security_groups').selectAll().where('id', 'in', ids).execute();
  const rules = await tx
    .selectFrom('security_group_rules')
    .selectAll()
    .where('security_group_id', 'in', ids)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const remoteIds = [...new Set(rules.map((r) => r.remote_group_id).filter((x): x is string => !!x))];
  const members = remoteIds.length
    ? await tx
        .selectFrom('port_security_groups')
        .innerJoin('ip_allocations', 'ip_allocations.port_id', 'port_security_groups.port_id')
        .select([
          'port_security_groups.port_id as port',
          'port_security_groups.security_group_id as group',
          'ip_allocations.ip_address as ip',
        ])
        .where('port_security_groups.security_group_id', 'in', remoteIds)
        .execute()
    : [];
  const viewOf = (id: string) => {
    const g = groups.find((x) => x.id === id);
    return {
      id,
      name: g?.name ?? '',
      stateful: g ? bool(g.stateful) : true,
      rules: rules
        .filter((r) => r.security_group_id === id)
        .map((r) => ({
          id: r.id,
          direction: r.direction as 'ingress' | 'egress',
          ethertype: r.ethertype as 'IPv4' | 'IPv6',
          protocol: r.protocol,
          port_range_min: r.port_range_min,
          port_range_max: r.port_range_max,
          remote_ip_prefix: r.remote_ip_prefix,
          remote_group_id: r.remote_group_id,
          remote_address_group_id: r.remote_address_group_id,
        })),
      member_ips: [...new Set(members.filter((m) => m.group === id).map((m) => m.ip))].sort(),
    };
  };
  // Groups referenced only as remote groups are included too: their member addresses matter.
  return { groups: [...new Set([...ids, ...remoteIds])].map(viewOf), members };
}

/** Each member port's share in the remote groups' addresses (see memberEntry). */
function memberEntries(members: GroupsRead['members'], groups: SecurityGroupView[]): Map<string, string> {
  const remote = new Set(groups.flatMap((g) => g.rules.map((r) => r.remote_group_id)).filter((x): x is string => !!x));
  const byPort = new Map<string, { groups: string[]; ips: string[] }>();
  for (const m of members) {
    const e = byPort.get(m.port) ?? { groups: [], ips: [] };
    e.groups.push(m.group);
    e.ips.push(m.ip);
    byPort.set(m.port, e);
  }
  return new Map([...byPort].map(([port, e]) => [port, memberEntry(e.groups, e.ips, remote)]));
}

/** The address groups the groups' rules name as their remote, by id, with their addresses. */
async function addressGroups(tx: Tx, groups: SecurityGroupView[]): Promise<AddressGroupView[]> {
  const ids = [...new Set(groups.flatMap((g) => g.rules.map((r) => r.remote_address_group_id)).filter((x): x is string => !!x))].sort();
  if (!ids.length) return [];
  const rows = await tx
    .selectFrom('address_associations')
    .select(['address_group_id', 'address'])
    .where('address_group_id', 'in', ids)
    .execute();
  // Sorted here, not by the engine: byte order on every engine, as the tracer sorts them.
  return ids.map((id) => ({
    id,
    addresses: rows
      .filter((r) => r.address_group_id === id)
      .map((r) => r.address)
      .sort(),
  }));
}

/** Each network's address scope per family, from its subnets' pools (as the L3 RPC reads them). */
async function addressScopesByNetwork(tx: Tx, networkIds: string[], read: Set<string>): Promise<Map<string, AddressScopesView>> {
  const out = new Map<string, AddressScopesView>();
  if (!networkIds.length) return out;
  const rows = await tx
    .selectFrom('subnets')
    .innerJoin('subnetpools', 'subnetpools.id', 'subnets.subnetpool_id')
    .select(['subnets.id', 'subnets.network_id', 'subnets.ip_version', 'subnetpools.address_scope_id'])
    .where('subnets.network_id', 'in', networkIds)
    .where('subnetpools.address_scope_id', 'is not', null)
    .execute();
  for (const r of rows) {
    read.add(r.id);
    const scopes = out.get(r.network_id) ?? { ...NO_ADDRESS_SCOPES };
    scopes[String(r.ip_version) as '4' | '6'] = r.address_scope_id;
    out.set(r.network_id, scopes);
  }
  return out;
}

/** The routers scheduled to `host`'s L3 agent, with their ports, subnets and associated floating IPs. */
async function hostRouters(tx: Tx, host: string, memo: SnapshotMemo | null, notes: HostViewNotes | null): Promise<RouterView[]> {
  const rows = await tx
    .selectFrom('router_l3_agents')
    .innerJoin('agents', 'agents.id', 'router_l3_agents.agent_id')
    .innerJoin('routers', 'routers.id', 'router_l3_agents.router_id')
    .selectAll('routers')
    .select(['router_l3_agents.ha_port_id', 'router_l3_agents.ha_state'])
    .where('agents.host', '=', host)
    .orderBy('routers.id')
    .execute();
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const portRows = await tx
    .selectFrom('ports')
    .select(PORT_KEY)
    .where('device_id', 'in', ids)
    .where('device_owner', 'in', ROUTER_OWNED)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const ports = await views(tx, portRows, memo);
  const haPortIds = rows.map((r) => r.ha_port_id).filter((id): id is string => !!id);
  const haPorts = haPortIds.length
    ? await views(tx, await tx.selectFrom('ports').select(PORT_KEY).where('id', 'in', haPortIds).execute(), memo)
    : [];
  const subnetIds = [...new Set([...ports, ...haPorts].flatMap((p) => p.fixed_ips.map((f) => f.subnet_id)))];
  const subnets = subnetIds.length ? await tx.selectFrom('subnets').selectAll().where('id', 'in', subnetIds).execute() : [];
  const subnetViews = new Map(
    subnets.map((s): [string, RouterSubnetView] => [
      s.id,
      {
        id: s.id,
        ip_version: s.ip_version,
        cidr: s.cidr,
        gateway_ip: s.gateway_ip,
        ipv6_ra_mode: s.ipv6_ra_mode,
        ipv6_address_mode: s.ipv6_address_mode,
        dns_nameservers: parseJson(s.dns_nameservers),
      },
    ]),
  );
  const scopes = await addressScopesByNetwork(tx, [...new Set(ports.map((p) => p.network_id))], notes?.scopeSubnets ?? new Set());
  const fips = await tx
    .selectFrom('floatingips')
    .selectAll()
    .where('router_id', 'in', ids)
    .where('fixed_port_id', 'is not', null)
    .where('fixed_ip_address', 'is not', null)
    .orderBy('floating_ip_address')
    .orderBy('id')
    .execute();
  const forwardings = await tx
    .selectFrom('port_forwardings as pf')
    .innerJoin('floatingips as f', 'f.id', 'pf.floatingip_id')
    .select([
      'pf.id',
      'pf.floatingip_id',
      'f.floating_ip_address',
      'f.router_id',
      'pf.protocol',
      'pf.external_port',
      'pf.external_port_end',
      'pf.internal_ip_address',
      'pf.internal_port',
      'pf.internal_port_end',
    ])
    .where('f.router_id', 'in', ids)
    .orderBy('f.floating_ip_address')
    .orderBy('pf.id')
    .execute();
  const metering = await meteringLabelsOf(tx, rows);
  return rows.map((r): RouterView => {
    const { gateway, interfaces } = routerPorts(
      r.id,
      ports,
      (p) => p.id === r.gw_port_id,
      (id) => subnetViews.get(id),
      (networkId) => scopes.get(networkId) ?? NO_ADDRESS_SCOPES,
    );
    return {
      id: r.id,
      name: r.name,
      admin_state_up: bool(r.admin_state_up),
      enable_snat: bool(r.enable_snat),
      gateway,
      interfaces,
      floating_ips: fips
        .filter((f) => f.router_id === r.id)
        .map((f) => ({
          id: f.id,
          floating_ip_address: f.floating_ip_address,
          fixed_ip_address: f.fixed_ip_address!,
          port_id: f.fixed_port_id!,
        })),
      routes: parseJson(r.routes),
      port_forwardings: forwardings.filter((f) => f.router_id === r.id).map(({ router_id: _r, ...f }) => f),
      ...(metering.has(r.id) ? { metering_labels: metering.get(r.id) } : {}),
      ...haView(r, haPorts, subnetViews),
    };
  });
}

/** An HA router's `ha` entry on this host, when it has its `ha-` port here. */
function haView(
  r: { ha: number; ha_vr_id: number; ha_port_id: string | null; ha_state: string | null },
  haPorts: PortView[],
  subnets: Map<string, RouterSubnetView>,
): Pick<RouterView, 'ha'> {
  const port = r.ha ? haPorts.find((p) => p.id === r.ha_port_id) : undefined;
  const cidr = port && subnets.get(port.fixed_ips[0]?.subnet_id ?? '')?.cidr;
  return port && cidr ? { ha: { vr_id: r.ha_vr_id, port, cidr, state: r.ha_state } } : {};
}

/**
 * The view of `host` at `revision`. A memo (for one revision, see SnapshotMemo) lends the reads that
 * do not depend on the host; the view is the same with it or without. `notes`, when given, is filled
 * in with what the view depends on beyond what it shows (see model/hostview-deps.ts).
 */
export async function buildHostView(
  tx: Tx,
  host: string,
  revision: number,
  memo: SnapshotMemo | null = null,
  notes: HostViewNotes | null = null,
): Promise<HostView> {
  const shared = <T>(key: string, read: () => Promise<T>): Promise<T> => (memo ? memo.once(key, read) : read());
  const local = await tx.selectFrom('ports').select(PORT_KEY).where('binding_host_id', '=', host).orderBy('id').execute();
  const dhcpNetworks = (
    await tx
      .selectFrom('network_dhcp_agents')
      .innerJoin('agents', 'agents.id', 'network_dhcp_agents.agent_id')
      .select('network_dhcp_agents.network_id')
      .where('agents.host', '=', host)
      .orderBy('network_dhcp_agents.network_id')
      .execute()
  ).map((r) => r.network_id);
  const routers = await hostRouters(tx, host, memo, notes);
  const networkIds = [...new Set([...local.map((p) => p.network_id), ...dhcpNetworks, ...haRouterNetworks(routers)])];
  const networks = networkIds.length
    ? await shared(`networks:${networkIds.join()}`, () =>
        tx.selectFrom('networks').selectAll().where('id', 'in', networkIds).orderBy('id').execute(),
      )
    : [];
  const subnets = networkIds.length
    ? await shared(`subnets:${networkIds.join()}`, () =>
        tx.selectFrom('subnets').selectAll().where('network_id', 'in', networkIds).orderBy('created_at').orderBy('id').execute(),
      )
    : [];

  const segments = await shared(`segments:${networkIds.join()}`, () => segmentsByNetwork(tx, networkIds));
  const segmentViews = (id: string): SegmentView[] =>
    segments
      .get(id)!
      .map((g) => ({ network_type: g.network_type, physical_network: g.physical_network, segmentation_id: g.segmentation_id }));
  const vxlanIds = networks.filter((n) => segments.get(n.id)!.some((g) => g.network_type === 'vxlan')).map((n) => n.id);
  // Every bound port of those networks (the same for every host), then those bound elsewhere.
  const boundRows = vxlanIds.length
    ? await shared(`bound:${vxlanIds.join()}`, () =>
        tx
          .selectFrom('ports')
          .select(PORT_KEY)
          .where('network_id', 'in', vxlanIds)
          .where('binding_host_id', '!=', '')
          .orderBy('network_id')
          .orderBy('id')
          .execute(),
      )
    : [];
  const remoteRows = boundRows.filter((p) => p.binding_host_id !== host);
  const endpoints = await shared('vteps', () => vteps(tx));
  const localVtep = endpoints.get(host);
  // Only ports on hosts with another VXLAN endpoint are entries: the others are not converted at all.
  const remoteBound = remoteRows.filter((p) => endpoints.has(p.binding_host_id) && endpoints.get(p.binding_host_id) !== localVtep);
  const remotePorts = (await views(tx, remoteBound, memo)).map((p) => remotePortOf(p, endpoints.get(p.binding_host_id)!));
  if (notes) {
    // The same for every host at this revision: each view's deps filter the entries by their host.
    notes.vtep = localVtep ?? '';
    notes.boundHosts = await shared(`bound-hosts:${vxlanIds.join()}`, async () => {
      return new Map(boundRows.map((p) => [p.binding_host_id, endpoints.get(p.binding_host_id) ?? '']));
    });
    notes.remotePorts = await shared(`remote-entries:${vxlanIds.join()}`, async () => {
      const candidates = boundRows.filter((p) => endpoints.has(p.binding_host_id));
      const entries = (await views(tx, candidates, memo)).map((p) => remotePortOf(p, endpoints.get(p.binding_host_id)!));
      return new Map(candidates.map((p, i) => [p.id, { host: entries[i].host, vtep: entries[i].vtep, entry: remoteEntry(entries[i]) }]));
    });
  }
  const vtepKeys = new Map(remotePorts.map((p) => [`${p.network_id}|${p.host}`, { network_id: p.network_id, host: p.host, vtep: p.vtep }]));

  const ports = await views(tx, local, memo);
  const dhcpRows = dhcpNetworks.length
    ? await shared(`dhcp:${dhcpNetworks.join()}`, () =>
        tx.selectFrom('ports').select(PORT_KEY).where('network_id', 'in', dhcpNetworks).orderBy('network_id').orderBy('id').execute(),
      )
    : [];
  const groupIds = [...new Set(ports.flatMap((p) => p.security_groups))];
  const { groups, members } = await shared(`groups:${groupIds.join()}`, () => securityGroups(tx, groupIds));
  if (notes) notes.members = await shared(`member-entries:${groupIds.join()}`, async () => memberEntries(members, groups));
  const remoteAddressGroups = await shared(`address-groups:${groupIds.join()}`, () => addressGroups(tx, groups));

  return {
    host,
    revision,
    networks: networks.map((n): NetworkView => {
      const own = segmentViews(n.id);
      return {
        id: n.id,
        name: n.name,
        // A network whose last segment an admin removed is wired nowhere.
        ...(own[0] ?? { network_type: '', physical_network: null, segmentation_id: null }),
        ...(own.length > 1 ? { segments: own } : {}),
        mtu: n.mtu,
        admin_state_up: bool(n.admin_state_up),
        router_external: bool(n.router_external),
      };
    }),
    subnets: subnets.map((s): SubnetView => ({
      id: s.id,
      network_id: s.network_id,
      ip_version: s.ip_version,
      cidr: s.cidr,
      gateway_ip: s.gateway_ip,
      ipv6_ra_mode: s.ipv6_ra_mode,
      ipv6_address_mode: s.ipv6_address_mode,
      enable_dhcp: bool(s.enable_dhcp),
      dns_nameservers: parseJson(s.dns_nameservers),
      host_routes: parseJson(s.host_routes),
      allocation_pools: parseJson(s.allocation_pools),
    })),
    ports,
    remote_ports: remotePorts,
    remote_vteps: [...vtepKeys.values()],
    security_groups: groups,
    ...(remoteAddressGroups.length ? { address_groups: remoteAddressGroups } : {}),
    dhcp_networks: dhcpNetworks,
    dhcp_ports: await views(tx, dhcpRows, memo),
    routers,
  };
}
