// keepalived of an HA router, as Neutron's L3 agent configures it (neutron/agent/linux/keepalived.py,
// neutron/agent/l3/ha_router.py): one VRRP instance per router on its `ha-` device, starting as
// BACKUP without preemption, the primary VIP 169.254.0.<vr_id>/24 on `ha-` (whose presence says
// "this node is active"), the router's addresses on `qr-`/`qg-` and its floating IPs as excluded VIPs
// (keepalived adds them on the active node only), the default and extra routes as virtual routes.
// keepalived runs VRRP only (-P), in the router's namespace, reloaded (SIGHUP) on a new config. Pure.
import { join } from 'node:path';
import type { ProcessSpec } from '../kernel/types.ts';
import { eui64Address, formatIp, parsePrefix } from '../model/ip.ts';

/** HA_DEFAULT_PRIORITY, GARP_PRIMARY_DELAY, KEEPALIVED_EMAIL_FROM, KEEPALIVED_ROUTER_ID */
const PRIORITY = 50;
const GARP_MASTER_DELAY = 60;
const EMAIL_FROM = 'neutron@openstack.local';
const ROUTER_ID = 'neutron';

/** The advertisement interval Neutron's L3 agent defaults to ([DEFAULT] ha_vrrp_advert_int). */
export const DEFAULT_ADVERT_INT = 2;

/** PRIVATE_CIDR_RANGE minus the metadata, DVR and HA ranges, a /24 (get_free_range): 169.254.0.0/24 unless the HA network is in it. */
export function primaryVipRange(haCidr: string): string {
  const ha = parsePrefix(haCidr);
  const excluded = ['169.254.169.254/32', '169.254.64.0/18', haCidr].map((c) => parsePrefix(c)!);
  const base = parsePrefix('169.254.0.0/16')!;
  for (let v = base.network; v <= base.last; v += 256n) {
    const last = v + 255n;
    if (!excluded.some((e) => e.network <= last && v <= e.last)) return `${formatIp({ version: 4, value: v })}/24`;
  }
  throw new Error(`no free /24 in 169.254.0.0/16 besides ${ha ? haCidr : 'the HA network'}`);
}

/** get_primary_vip: the VRRP id as host part, so every node of the router has the same one. */
export function primaryVip(haCidr: string, vrId: number): string {
  const range = parsePrefix(primaryVipRange(haCidr))!;
  return `${formatIp({ version: 4, value: range.network + BigInt(vrId) })}/24`;
}

export interface KeepalivedVip {
  address: string;
  dev: string;
  scope?: 'link';
}

export interface KeepalivedRoute {
  destination: string;
  nexthop?: string;
  dev?: string;
}

export interface KeepalivedInstanceSpec {
  vrId: number;
  haDev: string;
  haCidr: string;
  advertInt: number;
  vips: KeepalivedVip[];
  routes: KeepalivedRoute[];
}

/** The link-local address keepalived keeps on an HA router's device (_disable_ipv6_addressing_on_interface). */
export const linkLocalVip = (mac: string): string => `${eui64Address('fe80::/64', mac)}/64`;

/**
 * KeepalivedConf.build_config with one instance. VIPs and routes on devices other than `ha-` carry
 * `no_track` (the instance tracks `ha-` only), sorted by address as Neutron sorts them.
 */
export function keepalivedConfig(i: KeepalivedInstanceSpec): string {
  const vips = [...i.vips].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const vip = (v: KeepalivedVip) => `${v.address} dev ${v.dev}${v.scope ? ` scope ${v.scope}` : ''}${v.dev === i.haDev ? '' : ' no_track'}`;
  const route = (r: KeepalivedRoute) =>
    `${r.destination}${r.nexthop ? ` via ${r.nexthop}` : ''}${r.dev ? ` dev ${r.dev}` : ''} no_track protocol static`;
  const lines = [
    'global_defs {',
    `    notification_email_from ${EMAIL_FROM}`,
    `    router_id ${ROUTER_ID}`,
    '}',
    `vrrp_instance VR_${i.vrId} {`,
    '    state BACKUP',
    `    interface ${i.haDev}`,
    `    virtual_router_id ${i.vrId}`,
    `    priority ${PRIORITY}`,
    `    garp_master_delay ${GARP_MASTER_DELAY}`,
    '    nopreempt',
    `    advert_int ${i.advertInt}`,
    '    track_interface {',
    `        ${i.haDev}`,
    '    }',
    '    virtual_ipaddress {',
    `        ${primaryVip(i.haCidr, i.vrId)} dev ${i.haDev}`,
    '    }',
  ];
  if (vips.length) lines.push('    virtual_ipaddress_excluded {', ...vips.map((v) => `        ${vip(v)}`), '    }');
  if (i.routes.length) lines.push('    virtual_routes {', ...i.routes.map((r) => `        ${route(r)}`), '    }');
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Where Neutron keeps an HA router's files ([DEFAULT] ha_confs_path = $state_path/ha_confs). */
export const haConfDir = (statePath: string, routerId: string) => join(statePath, 'ha_confs', routerId);
export const keepalivedProcessId = (routerId: string) => `keepalived-${routerId}`;

/** `keepalived -P -f <conf> -p <pid> -r <pid>-vrrp` (KeepalivedManager's callback), daemonizing. */
export function keepalivedProcess(statePath: string, routerId: string, instance: KeepalivedInstanceSpec): ProcessSpec {
  const dir = haConfDir(statePath, routerId);
  const conf = join(dir, 'keepalived.conf');
  const pidFile = join(statePath, 'ha_confs', `${routerId}.pid`);
  return {
    id: keepalivedProcessId(routerId),
    argv: ['keepalived', '-P', '-f', conf, '-p', pidFile, '-r', `${pidFile}-vrrp`],
    pidFile,
    files: [{ path: conf, content: keepalivedConfig(instance) }],
  };
}
