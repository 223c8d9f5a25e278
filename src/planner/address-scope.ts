// Address scopes in a router's namespace (IPv4 and IPv6), as Neutron's L3 agent realizes them
// (router_info.py: initialize_address_scope_iptables, _add_address_scope_mark,
// process_external_port_address_scope_routing, process_floating_ip_address_scope_rules). Pure.
//
// Traffic entering an interface is marked with that interface's scope (upper 16 bits of the
// fwmark, saved in the connection's mark and restored for its later packets); it may leave only
// by an interface of the same scope (the filter `scope` chain drops the rest), except by the
// gateway while SNAT is on. Traffic leaving by the gateway from the gateway's own scope is not
// SNATed (the nat `snat` chain accepts it first): routed as is, addresses and all. A floating IP
// whose fixed address is of another scope than the gateway's marks its traffic across.
//
// Marks: Neutron hands out ids from 1024 as it meets scopes, "no scope" first; here the other
// scopes are numbered in the order of their ids, so the same router gets the same marks on every
// pass and node. Unlike Neutron, which writes these rules in every router, a router none of whose
// ports is in an IPv4 scope gets none: with every port unscoped they mark all traffic alike and
// change nothing.
//
// IPv6 (ip6tables) has only the marking and the filter: no NAT, so no connection mark is ever saved
// and no floating IP crosses, and the gateway is held to its scope like any interface (Neutron's
// dont_block_external is IPv4's). Each family numbers its own scopes; a scope has one family.
import { wrapChain } from '../kernel/names.ts';
import type { RouterView } from '../model/hostview.ts';
import { cidrContains, parseIp, parsePrefix } from '../model/ip.ts';

const l3 = (chain: string) => wrapChain('l3', chain);

/** ADDRESS_SCOPE_MARK_MASK: address scopes use the upper 16 bits of the fwmark. */
const MASK = '0xffff0000';
const MARK_ID_MIN = 1024;
const NO_MARK = `0x0/${MASK}`;
const RESTORE = `-m connmark ! --mark ${NO_MARK} -j CONNMARK --restore-mark --nfmask ${MASK} --ctmask ${MASK}`;
const SAVE = `-m connmark --mark ${NO_MARK} -j CONNMARK --save-mark --nfmask ${MASK} --ctmask ${MASK}`;

/** A device of the router and the scope of its port's network in one family (null: none). */
export interface ScopedDevice {
  dev: string;
  scope: string | null;
}

/** The rules address scopes add to the router's tables, by (wrapped) chain. */
export interface AddressScopeRules {
  /** mangle l3-PREROUTING, after the jump to `mark` */
  manglePrerouting: string[];
  mangleScope: string[];
  mangleFloatingip: string[];
  mangleFloatSnat: string[];
  mangleForward: string[];
  manglePostrouting: string[];
  /** filter l3-scope, after the metadata rule */
  filterScope: string[];
  /** nat l3-snat, after the jump to float-snat */
  natSnat: string[];
}

/** The IPv6 rules, by (wrapped) chain of ip6tables. */
export interface AddressScopeRules6 {
  /** mangle l3-PREROUTING, before the metadata mark */
  manglePrerouting: string[];
  mangleScope: string[];
  /** filter l3-scope, after the metadata rule */
  filterScope: string[];
}

type Family = '4' | '6';

/** get_address_scope_mark_mask: `0x<id << 16>/0xffff0000`. */
const markOf = (marks: Map<string | null, number>, scope: string | null): string => `0x${(marks.get(scope)! << 16).toString(16)}/${MASK}`;

const routerPorts = (router: RouterView) => [...router.interfaces, ...(router.gateway ? [router.gateway] : [])];

/** Whether any port of the router is in an address scope of `family`. */
export const hasAddressScopes = (router: RouterView, family: Family = '4'): boolean =>
  routerPorts(router).some((p) => p.address_scopes[family] !== null);

/** The mark id of each scope of `family` on the router's ports: "no scope" 1024, the others from 1025 in the order of their ids. */
function scopeMarks(router: RouterView, family: Family): Map<string | null, number> {
  const scopes = [...new Set(routerPorts(router).map((p) => p.address_scopes[family]))].filter((s): s is string => s !== null).sort();
  return new Map<string | null, number>([[null, MARK_ID_MIN], ...scopes.map((s, i): [string, number] => [s, MARK_ID_MIN + 1 + i])]);
}

/** address_scope_mangle_rule: traffic entering a device takes its scope's mark. */
const markRule = (marks: Map<string | null, number>, d: ScopedDevice) => `-i ${d.dev} -j MARK --set-xmark ${markOf(marks, d.scope)}`;
/** address_scope_filter_rule: traffic of another scope never leaves by a device. */
const dropRule = (marks: Map<string | null, number>, d: ScopedDevice) => `-o ${d.dev} -m mark ! --mark ${markOf(marks, d.scope)} -j DROP`;

/** The IPv4 scope of a fixed address: that of the router interface whose subnet holds it (fixed_ip_address_scope). */
function scopeOfFixedIp(router: RouterView, ip: string): string | null {
  const addr = parseIp(ip);
  if (!addr) return null;
  for (const intf of router.interfaces) {
    if (intf.subnets.some((s) => ((p) => p !== null && cidrContains(p, addr))(parsePrefix(s.cidr)))) return intf.address_scopes['4'];
  }
  return null;
}

/**
 * The rules, or null for a router without IPv4 scopes. `interfaces` and `gateway` are the devices
 * realized here with an IPv4 address (interfaces in order, the gateway last, as Neutron lists them).
 */
export function addressScopeRules(
  router: RouterView,
  interfaces: readonly ScopedDevice[],
  gateway: ScopedDevice | null,
): AddressScopeRules | null {
  if (!hasAddressScopes(router)) return null;
  const devices = [...interfaces, ...(gateway ? [gateway] : [])];
  const marks = scopeMarks(router, '4');
  const extScope = gateway?.scope ?? null;
  const out: AddressScopeRules = {
    manglePrerouting: [`-j ${l3('scope')}`, RESTORE, `-j ${l3('floatingip')}`],
    mangleScope: devices.map((d) => markRule(marks, d)),
    mangleFloatingip: [],
    mangleFloatSnat: [SAVE],
    mangleForward: [],
    manglePostrouting: [],
    // dont_block_external: the gateway takes every scope's traffic while SNAT is on.
    filterScope: devices.filter((d) => !(router.enable_snat && d === gateway)).map((d) => dropRule(marks, d)),
    natSnat: [],
  };
  if (gateway && router.enable_snat) {
    out.manglePostrouting.push(`-o ${gateway.dev} ${SAVE}`);
    if (extScope !== null) out.natSnat.push(`-o ${gateway.dev} -m connmark --mark ${markOf(marks, extScope)} -j ACCEPT`);
  }
  // Floating IPs whose fixed address is of another scope than the gateway's: their traffic crosses.
  const crossing = gateway
    ? router.floating_ips.filter(
        (f) => parseIp(f.floating_ip_address)?.version === 4 && scopeOfFixedIp(router, f.fixed_ip_address) !== extScope,
      )
    : [];
  if (crossing.length) {
    const extMark = markOf(marks, extScope);
    for (const d of devices) if (d.scope === extScope) out.mangleFloatSnat.push(`-o ${d.dev} -j MARK --set-xmark ${extMark}`);
    for (const f of crossing) {
      out.mangleFloatingip.push(
        `-d ${f.floating_ip_address}/32 -j MARK --set-xmark ${markOf(marks, scopeOfFixedIp(router, f.fixed_ip_address))}`,
      );
      out.mangleForward.push(`-s ${f.fixed_ip_address}/32 -j ${l3('float-snat')}`);
    }
  }
  return out;
}

/**
 * The IPv6 rules, or null for a router without IPv6 scopes. `devices` are the devices realized here
 * with an IPv6 address, interfaces in order and the gateway last.
 */
export function addressScopeRules6(router: RouterView, devices: readonly ScopedDevice[]): AddressScopeRules6 | null {
  if (!hasAddressScopes(router, '6')) return null;
  const marks = scopeMarks(router, '6');
  return {
    manglePrerouting: [`-j ${l3('scope')}`, RESTORE],
    mangleScope: devices.map((d) => markRule(marks, d)),
    filterScope: devices.map((d) => dropRule(marks, d)),
  };
}
