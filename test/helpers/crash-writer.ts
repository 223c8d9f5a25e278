// One writer of the crash test: creates, updates and deletes ports, routers (gateway, interfaces)
// and floating IPs, and keeps an exact model of what the server acknowledged. A request that dies
// with the server (no answer) is uncertain: the writer settles it by reading once the server is back
// (applied → adopted; not applied → sent again), so the model stays exact and creates never duplicate.
import { request, type Reply } from './client.ts';

export interface CrashNets {
  /** external network (router gateways, floating IPs) */
  ext: string;
  /** network whose subnet a standing router serves: floating IPs go to ports here */
  a: string;
  /** network for router interfaces (port-based) */
  b: string;
}

export interface WriterModel {
  ports: Map<string, { name: string; network: string; routerId?: string }>;
  routers: Map<string, { name: string; interfacePort?: string }>;
  fips: Map<string, { description: string; portId: string | null }>;
  deleted: { ports: Set<string>; routers: Set<string>; fips: Set<string> };
}

export interface WriterStats {
  /** writes answered 2xx */
  acknowledged: number;
  /** writes whose answer was lost with the server, settled by reading afterwards */
  settledApplied: number;
  settledNotApplied: number;
}

/** A write's answer body as the model keeps it: the created resource under its singular key (empty for other writes). */
type Answer = Record<string, { id: string }>;

type Op = {
  what: string;
  send(): Promise<Reply>;
  ok: number;
  /** After an uncertain attempt: the answer body if the write is found applied, else null. */
  applied(): Promise<Answer | null>;
  commit(body: Answer): void;
  /** A reply that, after an uncertain attempt, also means "applied" (a repeated delete's 404). */
  alsoAppliedAfterUncertain?: number;
};

const MAX_PORTS = 6;
const MAX_ROUTERS = 2;
const MAX_FIPS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

export class CrashWriter {
  readonly model: WriterModel = {
    ports: new Map(),
    routers: new Map(),
    fips: new Map(),
    deleted: { ports: new Set(), routers: new Set(), fips: new Set() },
  };
  readonly stats: WriterStats = { acknowledged: 0, settledApplied: 0, settledNotApplied: 0 };
  private seq = 0;
  private halted = false;

  private readonly base: string;
  private readonly token: string;
  readonly prefix: string;
  private readonly nets: CrashNets;

  constructor(base: string, token: string, prefix: string, nets: CrashNets) {
    this.base = base;
    this.token = token;
    this.prefix = prefix;
    this.nets = nets;
  }

  /** Ends every retry loop at its next turn (the test is failing and the server may stay down). */
  halt(): void {
    this.halted = true;
  }

  private async pause(): Promise<void> {
    if (this.halted) throw new Error(`${this.prefix} halted`);
    await sleep(50);
  }

  private call(method: string, path: string, body?: unknown): Promise<Reply> {
    return request(`${this.base}/v2.0${path}`, method, this.token, body);
  }

  /** A read that waits out the server's restarts. */
  private async read(path: string): Promise<Reply> {
    for (;;) {
      try {
        return await this.call('GET', path);
      } catch {
        await this.pause();
      }
    }
  }

  private async perform(op: Op): Promise<void> {
    let uncertain = false;
    for (;;) {
      if (uncertain) {
        const body = await op.applied();
        if (body !== null) {
          this.stats.settledApplied++;
          op.commit(body);
          return;
        }
        this.stats.settledNotApplied++;
      }
      let r: Reply;
      try {
        r = await op.send();
      } catch {
        uncertain = true;
        await this.pause();
        continue;
      }
      if (r.status === op.ok) {
        this.stats.acknowledged++;
        op.commit(r.body);
        return;
      }
      if (uncertain && r.status === op.alsoAppliedAfterUncertain) {
        this.stats.settledApplied++;
        op.commit({});
        return;
      }
      throw new Error(`${this.prefix}: ${op.what} answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
  }

  private name(kind: string): string {
    return `${this.prefix}-${kind}${++this.seq}`;
  }

  /** Runs random operations until `stopped()` says so. */
  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) await this.perform(this.nextOp());
  }

  private freePorts(network: string): string[] {
    const withFip = new Set([...this.model.fips.values()].map((f) => f.portId));
    return [...this.model.ports].filter(([id, p]) => p.network === network && !p.routerId && !withFip.has(id)).map(([id]) => id);
  }

  private nextOp(): Op {
    const m = this.model;
    const candidates: Array<() => Op | null> = [
      () => (m.ports.size < MAX_PORTS ? this.createPort(Math.random() < 0.5 ? this.nets.a : this.nets.b) : null),
      () => (m.ports.size ? this.renamePort(pick([...m.ports.keys()])) : null),
      () => {
        const free = [...this.freePorts(this.nets.a), ...this.freePorts(this.nets.b)];
        return free.length ? this.deletePort(pick(free)) : null;
      },
      () => (m.routers.size < MAX_ROUTERS ? this.createRouter() : null),
      () => {
        const bare = [...m.routers].filter(([, r]) => !r.interfacePort).map(([id]) => id);
        const free = this.freePorts(this.nets.b);
        return bare.length && free.length ? this.addInterface(pick(bare), pick(free)) : null;
      },
      () => {
        const wired = [...m.routers].filter(([, r]) => r.interfacePort).map(([id]) => id);
        return wired.length ? this.removeInterface(pick(wired)) : null;
      },
      () => {
        const bare = [...m.routers].filter(([, r]) => !r.interfacePort).map(([id]) => id);
        return bare.length ? this.deleteRouter(pick(bare)) : null;
      },
      () => {
        if (m.fips.size >= MAX_FIPS) return null;
        const free = this.freePorts(this.nets.a);
        return this.createFip(free.length && Math.random() < 0.7 ? pick(free) : null);
      },
      () => {
        if (!m.fips.size) return null;
        const free = this.freePorts(this.nets.a);
        const id = pick([...m.fips.keys()]);
        return this.moveFip(id, m.fips.get(id)!.portId || !free.length ? null : pick(free));
      },
      () => (m.fips.size ? this.deleteFip(pick([...m.fips.keys()])) : null),
    ];
    for (;;) {
      const op = pick(candidates)();
      if (op) return op;
    }
  }

  private createPort(network: string): Op {
    const name = this.name('p');
    return {
      what: `create port ${name}`,
      ok: 201,
      // Ports for router interfaces must have no device yet; the others stand for instances.
      send: () =>
        this.call('POST', '/ports', {
          port:
            network === this.nets.b
              ? { network_id: network, name }
              : { network_id: network, name, device_owner: 'compute:nova', device_id: name },
        }),
      applied: async () => {
        const found = (await this.read(`/ports?name=${name}`)).body.ports;
        if (found.length > 1) throw new Error(`${name} created ${found.length} times`);
        return found.length ? { port: found[0] } : null;
      },
      commit: (body) => this.model.ports.set(body.port.id, { name, network }),
    };
  }

  private renamePort(id: string): Op {
    const name = this.name('p');
    return {
      what: `rename port ${id} to ${name}`,
      ok: 200,
      send: () => this.call('PUT', `/ports/${id}`, { port: { name } }),
      applied: async () => ((await this.read(`/ports/${id}`)).body.port.name === name ? {} : null),
      commit: () => (this.model.ports.get(id)!.name = name),
    };
  }

  /** DELETE /{collection}/{id}: a repeated delete after a lost answer may find it gone already. */
  private deleteOp(collection: 'ports' | 'routers' | 'floatingips', id: string, commit: () => void): Op {
    return {
      what: `delete ${collection} ${id}`,
      ok: 204,
      send: () => this.call('DELETE', `/${collection}/${id}`),
      applied: async () => ((await this.read(`/${collection}/${id}`)).status === 404 ? {} : null),
      alsoAppliedAfterUncertain: 404,
      commit,
    };
  }

  private deletePort(id: string): Op {
    return this.deleteOp('ports', id, () => {
      this.model.ports.delete(id);
      this.model.deleted.ports.add(id);
      // Neutron disassociates the floating IPs of a deleted port.
      for (const f of this.model.fips.values()) if (f.portId === id) f.portId = null;
    });
  }

  private createRouter(): Op {
    const name = this.name('r');
    return {
      what: `create router ${name}`,
      ok: 201,
      send: () => this.call('POST', '/routers', { router: { name, external_gateway_info: { network_id: this.nets.ext } } }),
      applied: async () => {
        const found = (await this.read(`/routers?name=${name}`)).body.routers;
        if (found.length > 1) throw new Error(`${name} created ${found.length} times`);
        return found.length ? { router: found[0] } : null;
      },
      commit: (body) => this.model.routers.set(body.router.id, { name }),
    };
  }

  private addInterface(routerId: string, portId: string): Op {
    return {
      what: `add interface port ${portId} to router ${routerId}`,
      ok: 200,
      send: () => this.call('PUT', `/routers/${routerId}/add_router_interface`, { port_id: portId }),
      applied: async () => {
        const port = (await this.read(`/ports/${portId}`)).body.port;
        return port.device_owner === 'network:router_interface' && port.device_id === routerId ? {} : null;
      },
      commit: () => {
        this.model.routers.get(routerId)!.interfacePort = portId;
        this.model.ports.get(portId)!.routerId = routerId;
      },
    };
  }

  private removeInterface(routerId: string): Op {
    const portId = this.model.routers.get(routerId)!.interfacePort!;
    return {
      what: `remove interface port ${portId} from router ${routerId}`,
      ok: 200,
      send: () => this.call('PUT', `/routers/${routerId}/remove_router_interface`, { port_id: portId }),
      // Removing an interface deletes its port.
      applied: async () => ((await this.read(`/ports/${portId}`)).status === 404 ? {} : null),
      commit: () => {
        delete this.model.routers.get(routerId)!.interfacePort;
        this.model.ports.delete(portId);
        this.model.deleted.ports.add(portId);
      },
    };
  }

  private deleteRouter(id: string): Op {
    return this.deleteOp('routers', id, () => {
      this.model.routers.delete(id);
      this.model.deleted.routers.add(id);
    });
  }

  private createFip(portId: string | null): Op {
    const description = this.name('f');
    const body: Record<string, unknown> = { floating_network_id: this.nets.ext, description };
    if (portId) body.port_id = portId;
    return {
      what: `create floating IP ${description} for port ${portId}`,
      ok: 201,
      send: () => this.call('POST', '/floatingips', { floatingip: body }),
      applied: async () => {
        const found = (await this.read('/floatingips')).body.floatingips.filter(
          (f: { description: string }) => f.description === description,
        );
        if (found.length > 1) throw new Error(`${description} created ${found.length} times`);
        return found.length ? { floatingip: found[0] } : null;
      },
      commit: (b) => this.model.fips.set(b.floatingip.id, { description, portId }),
    };
  }

  private moveFip(id: string, portId: string | null): Op {
    return {
      what: `point floating IP ${id} at port ${portId}`,
      ok: 200,
      send: () => this.call('PUT', `/floatingips/${id}`, { floatingip: { port_id: portId } }),
      applied: async () => ((await this.read(`/floatingips/${id}`)).body.floatingip.port_id === portId ? {} : null),
      commit: () => (this.model.fips.get(id)!.portId = portId),
    };
  }

  private deleteFip(id: string): Op {
    return this.deleteOp('floatingips', id, () => {
      this.model.fips.delete(id);
      this.model.deleted.fips.add(id);
    });
  }
}
