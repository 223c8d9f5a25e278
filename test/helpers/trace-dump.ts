// Small NodeDumps for tracer tests: the node's own namespace with the given links and addresses,
// in the raw `ip -j -d -batch` form the collector records, and the agent configuration text.
import type { NodeDump } from '../../src/trace/snapshot.ts';

export const AGENT_INI = '/etc/neutron/plugins/ml2/linuxbridge_agent.ini';

/** links: [name, 'address/prefix' or null]; config: the file's text, null when unreadable. */
export function hostDump(host: string, config: string | null, links: Array<[string, string | null]>): NodeDump {
  const linkJson = links.map(([name], i) => ({
    ifindex: i + 2,
    ifname: name,
    flags: ['BROADCAST', 'UP'],
    mtu: 1500,
    operstate: 'UP',
    link_type: 'ether',
    address: `02:00:00:00:00:${(i + 2).toString(16).padStart(2, '0')}`,
  }));
  const addrJson = links.map(([name, a], i) => ({
    ifindex: i + 2,
    ifname: name,
    addr_info: a ? [{ family: 'inet', local: a.split('/')[0], prefixlen: Number(a.split('/')[1]) }] : [],
  }));
  // IP_OBSERVE_BATCH: links, addresses, neighbours, nsids, routes
  const ip = [JSON.stringify(linkJson), JSON.stringify(addrJson), '[]', '[]', '[]'].join('\n');
  return {
    host,
    access: 'local',
    collectedAt: '2024-01-01T00:00:00Z',
    agentConfig: { path: AGENT_INI, text: config },
    namespaces: { '': { ip, route6: '[]', fdb: '[]', iptablesSave: '', sysctl: '' } },
    conntrack: {},
    instances: {},
    errors: [],
  };
}
