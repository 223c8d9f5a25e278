// A recorded snapshot grown to a big node: N more instance ports on the instance's network, bound to
// the same node, each with its tap in the network's bridge — in the API and in the node's recorded
// `ip` output alike, so the planner expects every tap and finds it, and its security-group chains in
// iptables-save. For the page's grouping and its
// render time on a node with 1,000 ports.
import type { ApiObject, Snapshot } from '../../src/trace/snapshot.ts';

const hex = (i: number, width: number) => i.toString(16).padStart(width, '0');

export function withMorePorts(snapshot: Snapshot, n: number): Snapshot {
  const copy = structuredClone(snapshot);
  const model = copy.api.ports.find((p) => String(p['device_owner']).startsWith('compute:'));
  if (!model) throw new Error('the snapshot has no instance port to copy');
  const host = model['binding:host_id'] as string;
  const dump = Object.values(copy.nodes).find((d) => d.host === host);
  const raw = dump?.namespaces[''];
  if (!raw) throw new Error(`the snapshot has no root namespace of ${host}`);
  const tapOf = (id: string) => `tap${id.slice(0, 11)}`;
  const lines = raw.ip.split('\n');
  // Line 0 is `link show`, line 1 `addr show` (IP_OBSERVE_BATCH): a copy of the model's tap in both.
  const links = JSON.parse(lines[0]!) as Array<Record<string, unknown>>;
  const addrs = JSON.parse(lines[1]!) as Array<Record<string, unknown>>;
  const tapLink = links.find((l) => l['ifname'] === tapOf(model.id))!;
  const tapAddr = addrs.find((l) => l['ifname'] === tapOf(model.id))!;
  let ifindex = Math.max(...links.map((l) => Number(l['ifindex']))) + 1;
  const ports: ApiObject[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`;
    const mac = `fa:16:3f:${hex((i >> 16) & 255, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}`;
    const fixed = (model['fixed_ips'] as Array<{ subnet_id: string }>).map((f) => ({
      subnet_id: f.subnet_id,
      ip_address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    }));
    ports.push({ ...model, id, name: `p${i}`, mac_address: mac, device_id: `vm-${i}`, fixed_ips: fixed });
    const index = ifindex++;
    links.push({ ...tapLink, ifindex: index, ifname: tapOf(id) });
    addrs.push({ ...tapAddr, ifindex: index, ifname: tapOf(id), addr_info: [] });
  }
  copy.api.ports.push(...ports);
  lines[0] = JSON.stringify(links);
  lines[1] = JSON.stringify(addrs);
  raw.ip = lines.join('\n');
  if (raw.iptablesSave) raw.iptablesSave = withPortChains(raw.iptablesSave, model, ports);
  return copy;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * iptables-save with the model port's lines (its chains, and the jumps naming its tap) copied for
 * each port, its id, MAC and addresses replaced: the security-group chains the agent would write.
 */
function withPortChains(save: string, model: ApiObject, ports: ApiObject[]): string {
  const ips = (p: ApiObject) => (p['fixed_ips'] as Array<{ ip_address: string }>).map((f) => f.ip_address);
  const mac = (p: ApiObject) => String(p['mac_address']);
  const isModels = (l: string | undefined) => !!l?.includes(model.id.slice(0, 10));
  const copyFor = (line: string, p: ApiObject) => {
    let text = line.replaceAll(model.id.slice(0, 11), p.id.slice(0, 11)).replaceAll(model.id.slice(0, 10), p.id.slice(0, 10));
    text = text.replaceAll(mac(model), mac(p)).replaceAll(mac(model).toUpperCase(), mac(p).toUpperCase());
    ips(model).forEach((ip, k) => (text = text.replace(new RegExp(`${escape(ip)}(?=[/\\s]|$)`, 'g'), ips(p)[k] ?? ip)));
    return text;
  };
  const lines = save.split('\n');
  const out: string[] = [];
  let run: string[] = [];
  for (const [i, line] of lines.entries()) {
    out.push(line);
    if (!isModels(line)) continue;
    run.push(line);
    // After the last line of a run of the model's lines, the same run for every port.
    if (isModels(lines[i + 1])) continue;
    for (const p of ports) for (const l of run) out.push(copyFor(l, p));
    run = [];
  }
  return out.join('\n');
}
