// What the crash test checks after the last restart: the API against the writers' models, and the
// SQLite file itself (read-only) for half-written objects, orphans and double allocations.
import SQLite from 'better-sqlite3';
import type { Api } from './client.ts';
import type { CrashNets, CrashWriter } from './crash-writer.ts';
import type { FloatingIp, Port, Router } from './shapes.ts';

/** Every difference between what the writers were acknowledged and what the API shows. */
export async function apiProblems(admin: Api, writers: CrashWriter[], nets: CrashNets): Promise<string[]> {
  const [ports, routers, fips] = await Promise.all([admin.get('/ports'), admin.get('/routers'), admin.get('/floatingips')]);
  const byId = <T extends { id: string }>(items: T[]) => new Map(items.map((i) => [i.id, i]));
  const portById = byId<Port>(ports.body.ports);
  const routerById = byId<Router>(routers.body.routers);
  const fipById = byId<FloatingIp>(fips.body.floatingips);
  const problems: string[] = [];
  const expected = { ports: new Set<string>(), routers: new Set<string>(), fips: new Set<string>() };
  for (const w of writers) {
    const m = w.model;
    for (const [id, want] of m.ports) {
      expected.ports.add(id);
      const got = portById.get(id);
      if (!got) problems.push(`port ${want.name} (${id}) acknowledged but missing`);
      else {
        if (got.name !== want.name) problems.push(`port ${id} is named ${got.name}, acknowledged ${want.name}`);
        if (got.network_id !== want.network) problems.push(`port ${id} on network ${got.network_id}, not ${want.network}`);
        if (got.fixed_ips.length !== 1) problems.push(`port ${id} has ${got.fixed_ips.length} fixed IPs`);
        if (want.routerId && (got.device_owner !== 'network:router_interface' || got.device_id !== want.routerId)) {
          problems.push(`port ${id} should be an interface of router ${want.routerId}: ${got.device_owner} ${got.device_id}`);
        }
      }
    }
    for (const [id, want] of m.routers) {
      expected.routers.add(id);
      const got = routerById.get(id);
      if (!got) problems.push(`router ${want.name} (${id}) acknowledged but missing`);
      else if (got.external_gateway_info?.network_id !== nets.ext)
        problems.push(`router ${id} lost its gateway: ${JSON.stringify(got.external_gateway_info)}`);
    }
    for (const [id, want] of m.fips) {
      expected.fips.add(id);
      const got = fipById.get(id);
      if (!got) problems.push(`floating IP ${want.description} (${id}) acknowledged but missing`);
      else if (got.port_id !== want.portId) problems.push(`floating IP ${id} points at ${got.port_id}, acknowledged ${want.portId}`);
    }
    for (const id of m.deleted.ports) if (portById.has(id)) problems.push(`port ${id} deleted (acknowledged) but present`);
    for (const id of m.deleted.routers) if (routerById.has(id)) problems.push(`router ${id} deleted (acknowledged) but present`);
    for (const id of m.deleted.fips) if (fipById.has(id)) problems.push(`floating IP ${id} deleted (acknowledged) but present`);
  }
  // Nothing of the writers' beyond what they know of (e.g. a create that ran twice).
  const ours = (s: string) => writers.some((w) => s.startsWith(`${w.prefix}-`));
  for (const p of ports.body.ports)
    if (ours(p.name) && !expected.ports.has(p.id)) problems.push(`port ${p.name} (${p.id}) exists but no writer knows of it`);
  for (const r of routers.body.routers)
    if (ours(r.name) && !expected.routers.has(r.id)) problems.push(`router ${r.name} (${r.id}) exists but no writer knows of it`);
  for (const f of fips.body.floatingips)
    if (ours(f.description) && !expected.fips.has(f.id))
      problems.push(`floating IP ${f.description} (${f.id}) exists but no writer knows of it`);
  return problems;
}

/** Each query lists rows that must not exist: half-written objects, orphans, double allocations. */
const STORE_CHECKS: Record<string, string> = {
  'port without an address on a network that has a subnet': `
    SELECT p.id FROM ports p WHERE EXISTS (SELECT 1 FROM subnets s WHERE s.network_id = p.network_id)
      AND NOT EXISTS (SELECT 1 FROM ip_allocations a WHERE a.port_id = p.id)`,
  'address row of a missing port': 'SELECT a.port_id FROM ip_allocations a LEFT JOIN ports p ON p.id = a.port_id WHERE p.id IS NULL',
  'address row on another network than its port':
    'SELECT a.port_id FROM ip_allocations a JOIN ports p ON p.id = a.port_id WHERE a.network_id <> p.network_id',
  'address outside its subnet network':
    'SELECT a.port_id FROM ip_allocations a JOIN subnets s ON s.id = a.subnet_id WHERE s.network_id <> a.network_id',
  'address allocated twice on a subnet':
    "SELECT subnet_id || ' ' || ip_address FROM ip_allocations GROUP BY subnet_id, ip_address HAVING COUNT(*) > 1",
  'MAC allocated twice on a network':
    "SELECT network_id || ' ' || mac_address FROM ports GROUP BY network_id, mac_address HAVING COUNT(*) > 1",
  'floating IP without its floating port': `
    SELECT f.id FROM floatingips f LEFT JOIN ports p ON p.id = f.floating_port_id
      WHERE p.id IS NULL OR p.device_owner <> 'network:floatingip' OR p.device_id <> f.id`,
  "floating IP whose address is not its port's": `
    SELECT f.id FROM floatingips f WHERE NOT EXISTS (
      SELECT 1 FROM ip_allocations a WHERE a.port_id = f.floating_port_id AND a.ip_address = f.floating_ip_address)`,
  'floating IP bound to a missing port':
    'SELECT f.id FROM floatingips f LEFT JOIN ports p ON p.id = f.fixed_port_id WHERE f.fixed_port_id IS NOT NULL AND p.id IS NULL',
  'floating IP bound to a port but no router': 'SELECT id FROM floatingips WHERE (fixed_port_id IS NULL) <> (router_id IS NULL)',
  'floating port without its floating IP': `
    SELECT p.id FROM ports p LEFT JOIN floatingips f ON f.id = p.device_id WHERE p.device_owner = 'network:floatingip' AND f.id IS NULL`,
  'router port of a missing router': `
    SELECT p.id FROM ports p LEFT JOIN routers r ON r.id = p.device_id
      WHERE p.device_owner IN ('network:router_interface', 'network:router_gateway') AND r.id IS NULL`,
  'router whose gateway port is missing': `
    SELECT r.id FROM routers r LEFT JOIN ports p ON p.id = r.gw_port_id
      WHERE r.gw_port_id IS NOT NULL AND (p.id IS NULL OR p.device_owner <> 'network:router_gateway' OR p.device_id <> r.id)`,
  'gateway port not recorded on its router': `
    SELECT p.id FROM ports p JOIN routers r ON r.id = p.device_id WHERE p.device_owner = 'network:router_gateway' AND r.gw_port_id IS NOT p.id`,
  'security group binding of a missing port':
    'SELECT b.port_id FROM port_security_groups b LEFT JOIN ports p ON p.id = b.port_id WHERE p.id IS NULL',
};

/** Opens the database read-only and lists every broken invariant, with up to three examples each. */
export function storeProblems(dbFile: string): { problems: string[]; counts: Record<string, number> } {
  const db = new SQLite(dbFile, { readonly: true, fileMustExist: true });
  try {
    const problems: string[] = [];
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`);
    const fk = db.pragma('foreign_key_check') as unknown[];
    if (fk.length) problems.push(`foreign_key_check: ${JSON.stringify(fk.slice(0, 3))}`);
    for (const [what, sql] of Object.entries(STORE_CHECKS)) {
      const rows = db.prepare(sql).pluck().all() as string[];
      if (rows.length) problems.push(`${what}: ${rows.length} (${rows.slice(0, 3).join(', ')})`);
    }
    const count = (table: string) => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
    return {
      problems,
      counts: {
        ports: count('ports'),
        routers: count('routers'),
        floatingips: count('floatingips'),
        ip_allocations: count('ip_allocations'),
      },
    };
  } finally {
    db.close();
  }
}
