// The API side of an instance, as nova does it: find the network and security groups by name or id,
// create the port bound to the node (device_owner compute:nova, device_id the instance uuid), delete it;
// whether the port has a DHCPv6-stateful address.
import type { NeutrinoClient } from '../client/neutrino.ts';
import { HttpError } from '../client/http.ts';
import { COMPUTE_OWNER_PREFIX, DHCPV6_STATEFUL } from '../model/neutron.ts';
import { LabUsageError } from './topology.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Owned {
  id: string;
  name: string;
  project_id: string;
  shared?: boolean;
}
export interface ApiNetwork extends Owned {
  mtu: number;
}
export interface ApiPort {
  id: string;
  mac_address: string;
  fixed_ips: Array<{ subnet_id: string; ip_address: string }>;
}

/** One resource by id or by name; among several of that name, the project's own one. */
async function findByNameOrId<T extends Owned>(
  client: NeutrinoClient,
  collection: string,
  key: string,
  ref: string,
  project: string,
  what: string,
): Promise<T> {
  if (UUID.test(ref)) {
    try {
      return (await client.call<Record<string, T>>('GET', `/v2.0/${collection}/${ref}`))[key];
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) throw new LabUsageError(`no ${what} with id ${ref}`);
      throw e;
    }
  }
  const all = (await client.call<Record<string, T[]>>('GET', `/v2.0/${collection}?name=${encodeURIComponent(ref)}`))[`${key}s`].filter(
    (x) => x.name === ref,
  );
  const mine = all.filter((x) => x.project_id === project);
  const pick = mine.length ? mine : all.filter((x) => x.shared);
  if (pick.length === 1) return pick[0];
  if (!all.length) throw new LabUsageError(`no ${what} named '${ref}'`);
  throw new LabUsageError(`${pick.length ? 'several' : 'no usable'} ${what}s named '${ref}' for this project; give its id`);
}

export const findNetwork = (c: NeutrinoClient, ref: string, project: string) =>
  findByNameOrId<ApiNetwork>(c, 'networks', 'network', ref, project, 'network');

export async function findSecurityGroups(c: NeutrinoClient, refs: string[], project: string): Promise<string[]> {
  const out: string[] = [];
  for (const ref of refs)
    out.push((await findByNameOrId<Owned>(c, 'security-groups', 'security_group', ref, project, 'security group')).id);
  return out;
}

export async function createInstancePort(
  c: NeutrinoClient,
  o: {
    name: string;
    instanceId: string;
    networkId: string;
    project: string;
    host: string;
    securityGroups: string[] | null;
    fixedIp?: string;
  },
): Promise<ApiPort> {
  const port: Record<string, unknown> = {
    name: o.name,
    network_id: o.networkId,
    project_id: o.project,
    device_owner: `${COMPUTE_OWNER_PREFIX}nova`,
    device_id: o.instanceId,
    'binding:host_id': o.host,
  };
  if (o.securityGroups) port.security_groups = o.securityGroups;
  if (o.fixedIp) port.fixed_ips = [{ ip_address: o.fixedIp }];
  return (await c.call<{ port: ApiPort }>('POST', '/v2.0/ports', { port })).port;
}

/** Deletes the port; a port already gone is fine. */
export async function deletePort(c: NeutrinoClient, id: string): Promise<void> {
  try {
    await c.call('DELETE', `/v2.0/ports/${id}`);
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 404)) throw e;
  }
}

/**
 * Whether any of the port's fixed IPs lies on a DHCPv6-stateful subnet: a guest there takes its
 * address from DHCPv6 (the advertisements' Managed flag), not from SLAAC.
 */
export async function onStatefulDhcpv6(c: NeutrinoClient, fixedIps: ApiPort['fixed_ips']): Promise<boolean> {
  for (const f of fixedIps) {
    if (!f.ip_address.includes(':')) continue;
    const { subnet } = await c.call<{ subnet: { ipv6_address_mode?: string | null } }>('GET', `/v2.0/subnets/${f.subnet_id}`);
    if (subnet.ipv6_address_mode === DHCPV6_STATEFUL) return true;
  }
  return false;
}
