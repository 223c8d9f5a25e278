// The instance's NIC, as the operator reads it first (SCENARIO step 1): the domain XML names the
// tap, the bridge and the MAC; they must be the port's. Pure.
import { bridgeName, tapName } from '../kernel/names.js';
import { HOST } from '../kernel/types.js';
import { parseDomainInterfaces } from '../lab/libvirt.js';
import { result, type HopDraft } from './checks.js';
import type { TraceContext } from './context.js';
import type { Hop } from './report.js';
import type { ApiObject } from './snapshot.js';

export function instanceHop(ctx: TraceContext, host: string, port: ApiObject, net: ApiObject, leg: Hop['leg']): HopDraft {
  const id = String(port['device_id'] ?? '');
  const tap = tapName(port.id);
  const mac = String(port['mac_address'] ?? '').toLowerCase();
  const expected = { tap, bridge: bridgeName(net.id), mac };
  const base = { leg, node: host, namespace: HOST, device: tap, resource: { type: 'instance' as const, id }, check: 'instance NIC' };
  const domain = ctx.nodes[host]?.dump?.instances[id];
  if (!domain || domain.xml === null) {
    return result(base, expected, null, domain ? [{ command: `cat ${domain.path}` }] : [], {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `the domain XML of instance ${id} was not found on ${host}${domain ? ` at ${domain.path}` : ''} (nova's instances/<id>/libvirt.xml)`,
    });
  }
  const nics = parseDomainInterfaces(domain.xml);
  const nic = nics.find((n) => n.tap === tap) ?? nics.find((n) => n.mac.toLowerCase() === mac);
  const evidence = [{ command: `cat ${domain.path}`, ...(nic ? { line: `<interface type="bridge"><mac address="${nic.mac}"/><source bridge="${nic.bridge}"/><target dev="${nic.tap}"/></interface>` } : {}) }];
  if (!nic) {
    return result(base, expected, { interfaces: nics }, evidence, { status: 'mismatch', reason: 'INSTANCE_NIC_MISMATCH', cause: `instance ${id} has no interface on ${tap} or with MAC ${mac} in ${domain.path}: it is not plugged into port ${port.id}` });
  }
  const observed = { tap: nic.tap, bridge: nic.bridge, mac: nic.mac.toLowerCase(), mtu: nic.mtu };
  const diffs = [nic.tap !== tap && `target dev ${nic.tap}, not ${tap}`, nic.mac.toLowerCase() !== mac && `MAC ${nic.mac}, not the port's ${mac}`, nic.bridge !== expected.bridge && `source bridge ${nic.bridge}, not ${expected.bridge}`].filter(Boolean);
  if (diffs.length) return result(base, expected, observed, evidence, { status: 'mismatch', reason: 'INSTANCE_NIC_MISMATCH', cause: `instance ${id}'s NIC in ${domain.path}: ${diffs.join('; ')}` });
  return result(base, expected, observed, evidence);
}
