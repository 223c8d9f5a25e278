// The scope of each change in the feed (model/change-scope.ts): its row as it is now, read once for
// every waiting host. Read at or after the change's revision: a row changed again since has a later
// change too, whose scope is read later still, so the newest state of each row is always the one
// matched against the views.
import { AGENT_L2 } from '../model/neutron.ts';
import type { ChangeScope } from '../model/change-scope.ts';
import { portView } from '../model/port-view.ts';
import { unitOfWork, type Reader } from '../store/unit-of-work.ts';
import { parseJson, type Tx } from './common.ts';
import type { Change } from './feed.ts';
import { portsToApi } from './ports.ts';

/** Scopes kept, newest revisions last: enough for the watchers of one burst of changes to share them. */
const KEPT = 4096;

export class ChangeScopes {
  private readonly byRevision = new Map<number, Promise<ChangeScope>>();

  private readonly db: Reader;

  constructor(db: Reader) {
    this.db = db;
  }

  /** The scopes of the changes, in their order; each read once. */
  async of(changes: Change[]): Promise<ChangeScope[]> {
    const missing = changes.filter((c) => !this.byRevision.has(c.revision));
    if (missing.length) {
      const read = unitOfWork(this.db, async (tx) => {
        const out: ChangeScope[] = [];
        for (const c of missing) out.push(await readScope(tx, c));
        return out;
      });
      missing.forEach((c, i) =>
        this.byRevision.set(
          c.revision,
          read.then((s) => s[i]),
        ),
      );
      // A failed read is not kept: the next watcher reads again.
      read.catch(() => missing.forEach((c) => this.byRevision.delete(c.revision)));
      for (const r of this.byRevision.keys()) {
        if (this.byRevision.size <= KEPT) break;
        this.byRevision.delete(r);
      }
    }
    return Promise.all(changes.map((c) => this.byRevision.get(c.revision) ?? readOne(this.db, c)));
  }
}

const readOne = (db: Reader, c: Change) => unitOfWork(db, (tx) => readScope(tx, c));

async function readScope(tx: Tx, c: Change): Promise<ChangeScope> {
  const id = c.resource_id;
  switch (c.resource) {
    case 'port': {
      if (c.op === 'status') return { kind: 'port-status', id };
      const row = await tx.selectFrom('ports').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return { kind: 'port', id, now: null };
      const [api] = await portsToApi(tx, [row]);
      return { kind: 'port', id, now: { port: portView(api), vtep: row.binding_host_id ? await vtepOf(tx, row.binding_host_id) : '' } };
    }
    case 'network': {
      const hosts = await tx
        .selectFrom('network_dhcp_agents')
        .innerJoin('agents', 'agents.id', 'network_dhcp_agents.agent_id')
        .select('agents.host')
        .where('network_dhcp_agents.network_id', '=', id)
        .execute();
      return { kind: 'network', id, dhcpHosts: hosts.map((h) => h.host) };
    }
    case 'subnet': {
      const row = await tx.selectFrom('subnets').select('network_id').where('id', '=', id).executeTakeFirst();
      return { kind: 'subnet', id, network: row?.network_id ?? null };
    }
    case 'router': {
      const hosts = await tx
        .selectFrom('router_l3_agents')
        .innerJoin('agents', 'agents.id', 'router_l3_agents.agent_id')
        .select('agents.host')
        .where('router_l3_agents.router_id', '=', id)
        .execute();
      return { kind: 'router', id, hosts: hosts.map((h) => h.host) };
    }
    case 'floatingip': {
      // A floating IP's status is in no view.
      if (c.op === 'status') return { kind: 'none' };
      const row = await tx.selectFrom('floatingips').select('router_id').where('id', '=', id).executeTakeFirst();
      return { kind: 'floatingip', id, router: row?.router_id ?? null };
    }
    case 'security_group':
      return { kind: 'security_group', id };
    case 'security_group_rule': {
      const row = await tx.selectFrom('security_group_rules').select('security_group_id').where('id', '=', id).executeTakeFirst();
      return { kind: 'security_group_rule', id, group: row?.security_group_id ?? null };
    }
    case 'address_group':
      return { kind: 'address_group', id };
    case 'agent': {
      const row = await tx.selectFrom('agents').select('host').where('id', '=', id).executeTakeFirst();
      // A deleted agent's host is not known any more.
      if (!row) return { kind: 'all' };
      const bound = await tx.selectFrom('ports').select('network_id').distinct().where('binding_host_id', '=', row.host).execute();
      return { kind: 'agent', host: row.host, vtep: await vtepOf(tx, row.host), networks: bound.map((b) => b.network_id) };
    }
    default:
      return { kind: 'all' };
  }
}

/** The host's VXLAN endpoint as hostview.ts reads it: its L2 agent's `tunneling_ip` ('' when none). */
async function vtepOf(tx: Tx, host: string): Promise<string> {
  const agents = await tx
    .selectFrom('agents')
    .select('configurations')
    .where('agent_type', '=', AGENT_L2)
    .where('host', '=', host)
    .execute();
  let vtep = '';
  for (const a of agents) vtep = parseJson<{ tunneling_ip?: string }>(a.configurations).tunneling_ip || vtep;
  return vtep;
}
