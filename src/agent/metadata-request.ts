// What Neutron's metadata agent decides for one request the proxy passed on
// (neutron/agent/metadata/proxy_base.py, agent.py): who asks (the last X-Forwarded-For, which the
// proxy appended), through which router or network (the header the proxy set), and the headers
// Nova's metadata API gets — fresh ones only, so nothing an instance sent chooses the instance.
// Pure.
import { createHmac } from 'node:crypto';
import { macOfLinkLocal, parseIp } from '../model/ip.ts';

export const NETWORK_ID_HEADER = 'x-neutron-network-id';
export const ROUTER_ID_HEADER = 'x-neutron-router-id';

/** `remoteMac`: the MAC a link-local source address encodes (the only thing Neutron knows of it). */
export type MetadataSource = { remoteIp: string; remoteMac?: string } & (
  { routerId: string; networkId?: undefined } | { networkId: string; routerId?: undefined }
);

type Headers = Record<string, string | string[] | undefined>;

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.at(-1) : v);

/**
 * The source of a request, or why there is none. haproxy's `option forwardfor` appends its own
 * X-Forwarded-For after any the client sent (Node joins them with ', '): the last entry is the
 * client's address as the proxy saw it. An IPv4-mapped IPv6 address (a proxy bound to '::') is
 * taken as the IPv4 address. An IPv6 link-local address (a request to fe80::a9fe:a9fe) is no
 * fixed IP of any port: the instance is found by the MAC its EUI-64 interface identifier carries.
 * Both router and network headers at once: refused (could be spoofed).
 */
export function metadataSource(headers: Headers): MetadataSource | { refused: string } {
  const forwarded = one(headers['x-forwarded-for']);
  let remote = forwarded?.split(',').at(-1)?.trim() ?? '';
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(remote)) remote = remote.slice(7);
  remote = remote.replace(/%.*$/, '');
  if (!parseIp(remote)) return { refused: `no usable X-Forwarded-For (${JSON.stringify(forwarded ?? null)})` };
  const mac = macOfLinkLocal(remote);
  const who = { remoteIp: remote, ...(mac ? { remoteMac: mac } : {}) };
  const networkId = one(headers[NETWORK_ID_HEADER]);
  const routerId = one(headers[ROUTER_ID_HEADER]);
  if (networkId && routerId) return { refused: 'both network and router IDs were given; only one of the two is allowed' };
  if (routerId) return { ...who, routerId };
  if (networkId) return { ...who, networkId };
  return { refused: 'neither X-Neutron-Router-ID nor X-Neutron-Network-ID was given' };
}

/** common_utils.sign_instance_id: HMAC-SHA256 of the instance id with metadata_proxy_shared_secret, hex. */
export const signInstanceId = (secret: string, instanceId: string): string => createHmac('sha256', secret).update(instanceId).digest('hex');

/** The headers Nova's metadata API gets (_proxy_request). */
export function novaHeaders(o: { remoteIp: string; instanceId: string; projectId: string; secret: string }): Record<string, string> {
  return {
    'X-Forwarded-For': o.remoteIp,
    'X-Instance-ID': o.instanceId,
    'X-Tenant-ID': o.projectId,
    'X-Instance-ID-Signature': signInstanceId(o.secret, o.instanceId),
  };
}
