// The instance's NIC, as the operator reads it first (docs/scenario.md, step 1): the domain XML names the
// tap, the bridge and the MAC; they must be the port's. Without a domain XML (no Nova or libvirt:
// containers, Ironic, another hypervisor) the kernel still shows whether anything is attached to the
// tap: its carrier. Pure.
import { bridgeName, tapName } from '../../kernel/names.ts';
import { HOST } from '../../kernel/types.ts';
import { parseDomainInterfaces } from '../../observe/libvirt.ts';
import { observeCommand, result, type HopBase, type HopDraft } from './checks.ts';
import type { TraceContext } from '../context.ts';
import type { Hop } from '../report.ts';
import type { ApiObject } from '../snapshot.ts';

export function instanceHop(ctx: TraceContext, host: string, port: ApiObject, net: ApiObject, leg: Hop['leg']): HopDraft {
  const id = String(port['device_id'] ?? '');
  const tap = tapName(port.id);
  const mac = String(port['mac_address'] ?? '').toLowerCase();
  const expected = { tap, bridge: bridgeName(net.id), mac };
  const base = { leg, node: host, namespace: HOST, device: tap, resource: { type: 'instance' as const, id }, check: 'instance NIC' };
  const domain = ctx.nodes[host]?.dump?.instances[id];
  if (!domain || domain.xml === null) return withoutDomainXml(ctx, host, base, expected, domain?.path);
  const nics = parseDomainInterfaces(domain.xml);
  const nic = nics.find((n) => n.tap === tap) ?? nics.find((n) => n.mac.toLowerCase() === mac);
  const evidence = [
    {
      command: `cat ${domain.path}`,
      ...(nic
        ? {
            line: `<interface type="bridge"><mac address="${nic.mac}"/><source bridge="${nic.bridge}"/><target dev="${nic.tap}"/></interface>`,
          }
        : {}),
    },
  ];
  if (!nic) {
    return result(base, expected, { interfaces: nics }, evidence, {
      status: 'mismatch',
      reason: 'INSTANCE_NIC_MISMATCH',
      cause: `instance ${id} has no interface on ${tap} or with MAC ${mac} in ${domain.path}: it is not plugged into port ${port.id}`,
    });
  }
  const observed = { tap: nic.tap, bridge: nic.bridge, mac: nic.mac.toLowerCase(), mtu: nic.mtu };
  const diffs = [
    nic.tap !== tap && `target dev ${nic.tap}, not ${tap}`,
    nic.mac.toLowerCase() !== mac && `MAC ${nic.mac}, not the port's ${mac}`,
    nic.bridge !== expected.bridge && `source bridge ${nic.bridge}, not ${expected.bridge}`,
  ].filter(Boolean);
  if (diffs.length)
    return result(base, expected, observed, evidence, {
      status: 'mismatch',
      reason: 'INSTANCE_NIC_MISMATCH',
      cause: `instance ${id}'s NIC in ${domain.path}: ${diffs.join('; ')}`,
    });
  return result(base, expected, observed, evidence);
}

/**
 * No domain XML to read: the tap's carrier (LOWER_UP) says a NIC is attached on its instance side
 * (a hypervisor holds the tap open, or a veth's peer is up); it cannot say whose MAC it has. No
 * carrier: nothing is attached, frames to the tap go nowhere. The tap not read: unknown.
 */
function withoutDomainXml(ctx: TraceContext, host: string, base: HopBase, expected: { tap: string }, path: string | undefined): HopDraft {
  const xml = path
    ? `the domain XML of instance ${base.resource.id} was not found on ${host} at ${path}`
    : `no domain XML of instance ${base.resource.id} was read on ${host}`;
  const raw = ctx.nodes[host]?.rawLinks.get(HOST)?.get(expected.tap);
  const evidence = [
    ...(path ? [{ command: `cat ${path}` }] : []),
    { command: observeCommand(HOST, 'link', expected.tap), ...(raw ? { line: JSON.stringify(raw) } : {}) },
  ];
  if (!raw) {
    const read = !!ctx.nodes[host]?.observed.namespaces[HOST];
    return result(base, expected, null, evidence, {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `${xml} (nova's instances/<id>/libvirt.xml), and ${expected.tap} ${read ? 'does not exist' : 'was not read either'}`,
    });
  }
  const flags = Array.isArray(raw['flags']) ? (raw['flags'] as unknown[]).map(String) : [];
  const carrier = flags.includes('LOWER_UP');
  const observed = { domain_xml: null, tap: expected.tap, carrier, flags };
  if (!carrier && flags.includes('UP')) {
    return result(base, expected, observed, evidence, {
      status: 'down',
      reason: 'DEVICE_DOWN',
      cause: `${expected.tap} on ${host} has no carrier: nothing is attached on its instance side (the instance is not running, or its NIC is unplugged); ${xml}`,
    });
  }
  // Administratively down is the tap hop's finding; here only what the carrier proves.
  if (!carrier)
    return result(base, expected, observed, evidence, {
      status: 'unknown',
      reason: 'NODE_UNREADABLE',
      cause: `${xml}, and ${expected.tap} is down, so its carrier says nothing`,
    });
  return result(base, expected, observed, evidence);
}
