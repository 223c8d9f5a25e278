// The lab's metadata documents, in the formats Nova's metadata API serves (nova/api/metadata/base.py):
// the OpenStack ones (/openstack/latest/meta_data.json, network_data.json) and the EC2-style tree
// under /latest/meta-data/. Built from the instance's record and its port as the API shows it. Pure.

export interface MetadataInstance {
  /** the instance's uuid: its port's device_id */
  id: string;
  name: string;
  projectId: string;
  publicKeys: Array<{ name: string; key: string }>;
  port: { id: string; mac: string; fixedIps: Array<{ subnet_id: string; ip_address: string }> };
  network: { id: string; mtu: number };
  subnets: Array<{
    id: string;
    ip_version: number;
    cidr: string;
    gateway_ip: string | null;
    enable_dhcp: boolean;
    dns_nameservers: string[];
  }>;
  /** the floating IP associated with the port, if any */
  floatingIp: string | null;
  /** the user data, base64 as Nova stores it; absent when the instance has none */
  userData?: string;
}

/** [api] dhcp_domain's default: Nova appends it to the host name. */
const DHCP_DOMAIN = 'novalocal';
const AVAILABILITY_ZONE = 'nova';

export const hostnameOf = (i: Pick<MetadataInstance, 'name'>): string => `${i.name}.${DHCP_DOMAIN}`;

/** EC2's instance id: Nova's is i-<8 hex digits> of an internal number; the lab takes the uuid's first 8. */
export const ec2InstanceId = (i: Pick<MetadataInstance, 'id'>): string => `i-${i.id.replace(/-/g, '').slice(0, 8)}`;

const firstIpv4 = (i: MetadataInstance): string => i.port.fixedIps.find((f) => !f.ip_address.includes(':'))?.ip_address ?? '';

export function metaDataJson(i: MetadataInstance): Record<string, unknown> {
  return {
    uuid: i.id,
    public_keys: Object.fromEntries(i.publicKeys.map((k) => [k.name, k.key])),
    keys: i.publicKeys.map((k) => ({ name: k.name, type: 'ssh', data: k.key })),
    hostname: hostnameOf(i),
    name: i.name,
    launch_index: 0,
    availability_zone: AVAILABILITY_ZONE,
    meta: {},
    devices: [],
    project_id: i.projectId,
  };
}

/** nova/virt/netutils.get_network_metadata for one port on DHCP-enabled subnets. */
export function networkDataJson(i: MetadataInstance): Record<string, unknown> {
  const link = `tap${i.port.id.slice(0, 11)}`;
  const networks = i.port.fixedIps.flatMap((f, n) => {
    const s = i.subnets.find((x) => x.id === f.subnet_id);
    if (!s) return [];
    const type = s.ip_version === 4 ? (s.enable_dhcp ? 'ipv4_dhcp' : 'ipv4') : 'ipv6_dhcp';
    return [{ id: `network${n}`, type, link, network_id: i.network.id }];
  });
  const dns = [...new Set(i.subnets.flatMap((s) => s.dns_nameservers))];
  return {
    links: [{ id: link, vif_id: i.port.id, type: 'bridge', mtu: i.network.mtu, ethernet_mac_address: i.port.mac }],
    networks,
    services: dns.map((address) => ({ type: 'dns', address })),
  };
}

export interface MetadataAnswer {
  status: number;
  contentType: string;
  /** bytes for user data (which may be binary, e.g. gzip), text otherwise */
  body: string | Buffer;
}

const text = (body: string): MetadataAnswer => ({ status: 200, contentType: 'text/plain; charset=UTF-8', body });
const json = (doc: unknown): MetadataAnswer => ({ status: 200, contentType: 'application/json', body: JSON.stringify(doc) });
export const NOT_FOUND: MetadataAnswer = { status: 404, contentType: 'text/plain; charset=UTF-8', body: '404 Not Found\n' };

/** The EC2 tree's leaves (one per path below /latest/meta-data/). */
function ec2Tree(i: MetadataInstance): Record<string, string> {
  const tree: Record<string, string> = {
    'instance-id': ec2InstanceId(i),
    'local-ipv4': firstIpv4(i),
    'public-ipv4': i.floatingIp ?? '',
    hostname: hostnameOf(i),
    'local-hostname': hostnameOf(i),
    'placement/availability-zone': AVAILABILITY_ZONE,
  };
  i.publicKeys.forEach((k, n) => (tree[`public-keys/${n}/openssh-key`] = k.key));
  return tree;
}

/** What a directory of the tree lists: its entries, sub-directories with a trailing '/'. */
function listing(tree: Record<string, string>, dir: string, i: MetadataInstance): string | null {
  const entries = new Set<string>();
  for (const path of Object.keys(tree)) {
    if (!path.startsWith(dir)) continue;
    const rest = path.slice(dir.length).split('/');
    entries.add(rest.length > 1 ? `${rest[0]}/` : rest[0]!);
  }
  if (!entries.size) return null;
  // EC2 lists the keys as index=name.
  if (dir === 'public-keys/') return i.publicKeys.map((k, n) => `${n}=${k.name}`).join('\n');
  return [...entries].join('\n');
}

/** The user data as Nova serves it: the decoded bytes, text/plain; none (404) when the instance has none. */
const userData = (i: MetadataInstance): MetadataAnswer =>
  i.userData === undefined ? NOT_FOUND : { status: 200, contentType: 'text/plain; charset=UTF-8', body: Buffer.from(i.userData, 'base64') };

/** The answer for one path (query and trailing slash aside, as Nova routes them). */
export function metadataAnswer(path: string, i: MetadataInstance): MetadataAnswer {
  const p = path.split('?')[0]!.replace(/\/+$/, '');
  // Nova lists user_data / user-data only for an instance that has it.
  const has = i.userData !== undefined;
  if (p === '/openstack') return text('latest');
  if (p === '/openstack/latest') return text(['meta_data.json', ...(has ? ['user_data'] : []), 'network_data.json'].join('\n'));
  if (p === '/openstack/latest/meta_data.json') return json(metaDataJson(i));
  if (p === '/openstack/latest/network_data.json') return json(networkDataJson(i));
  if (p === '/openstack/latest/user_data' || p === '/latest/user-data') return userData(i);
  if (p === '' || p === '/latest') return text(p === '' ? 'latest' : ['meta-data/', ...(has ? ['user-data'] : [])].join('\n'));
  if (p === '/latest/meta-data' || p.startsWith('/latest/meta-data/')) {
    const rel = p.slice('/latest/meta-data'.length).replace(/^\//, '');
    const tree = ec2Tree(i);
    if (rel in tree) return text(tree[rel]!);
    const list = listing(tree, rel ? `${rel}/` : '', i);
    if (list !== null) return text(list);
  }
  return NOT_FOUND;
}
