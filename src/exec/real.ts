// The real kernel: observe with `ip -j`, `bridge -j`, iptables-save, ipset save, sysctl; apply rendered batches through run().
import { existsSync, readdirSync } from 'node:fs';
import type { Op } from '../kernel/ops.ts';
import { concurrentSteps, render, type Command } from '../kernel/render.ts';
import { inScope, ipsetsInScope, type ObserveScope } from '../kernel/scope.ts';
import type { Slice } from '../kernel/slice.ts';
import { HOST, type NsKey, type ObservedNode } from '../kernel/types.ts';
import { ipStateAgain, parseIpState, parseNamespace, resolvePeers, type IpState, type ParsedNamespace } from '../observe/node.ts';
import { isExecError } from './errors.ts';
import { ApplyError, type Kernel } from './kernel.ts';
import { observeProcess, reloadProcess, startProcess, stopProcess } from './procs.ts';
import { isHostLinksAlone, linkReadLines, observeHostSlice, parseLinkReads, readFdb, readIpsets } from './observe-slice.ts';
import type { Obj } from '../observe/json.ts';
import { readRawNamespace } from './read-namespace.ts';
import { run as defaultRun, type Runner } from './run.ts';
import { rulesetWatchFor, type RulesetWatch } from './ruleset-watch.ts';
import { readSysctls } from './sysctl-here.ts';
import { IP_KEPT_AT_MOST_MS, IpWatch } from './ip-watch.ts';
import { markedDevices } from '../kernel/work.ts';
import { NamespaceIpKeep, namespaceInode, type NamespacesPass } from './ns-ip-keep.ts';

/** Where `ip netns add` makes named namespaces. */
const NETNS_DIR = '/run/netns';

/** Namespaces read at once (each costs four or five short-lived processes). */
const OBSERVE_PARALLEL = 8;

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface RealKernelOptions {
  /**
   * The named namespace that plays HOST (tests and tools acting on a lab node from outside);
   * undefined = the namespace this process runs in.
   */
  hostNetns?: string;
  run?: Runner;
  /**
   * Watch HOST's nftables ruleset (`nft monitor`) and let a full observation take its last
   * iptables-save and ip6tables-save output again while nothing has been committed since (the agent
   * sets it; see ruleset-watch.ts). Call close() to end the monitor.
   */
  watchRuleset?: boolean;
  /**
   * Watch HOST's links, addresses, routes and neighbours (`ip monitor`) and let a full observation
   * take its last `ip` output again while nothing that matters changed since, for at most
   * IP_KEPT_AT_MOST_MS (the agent sets it; see ip-watch.ts). Call close() to end the monitor.
   */
  watchIp?: boolean;
  /**
   * With watchIp, also keep the named namespaces' `ip` reads (`ip monitor all-nsid`; see
   * ns-ip-keep.ts): for a node that has qrouter-/qdhcp- namespaces. Elsewhere the monitor would only
   * carry other namespaces' events (a lab's instances, containers) for nothing.
   */
  watchNamespacesIp?: boolean;
  /** How long a kept `ip` read is taken again at most (tests); IP_KEPT_AT_MOST_MS by default. */
  ipKeptAtMostMs?: number;
}

/** Full observations' reads by what they read: HOST's iptables rules, HOST's `ip` state, named namespaces' `ip` state. */
export type KernelReadCounts = Record<'iptables' | 'ip' | 'namespace_ip', { read: number; kept: number }>;

/** The last read of HOST's iptables rules, and the watch's mark taken just before it. */
interface KeptRules {
  mark: number;
  iptablesSave: string;
  ip6tablesSave: string | undefined;
}

/**
 * The last read of HOST's `ip` state, parsed (its text is ~3.6 MB of JSON on a node of 1,000 ports,
 * the parsed state a fraction of it) and frozen, with the watch's mark and the time taken just before it.
 */
interface KeptIp {
  mark: number;
  at: number;
  state: IpState;
}

/** Freezes plain objects and arrays all the way down: kept state that a later pass must not change. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !(value instanceof Map)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));

export class RealKernel implements Kernel {
  private readonly run: Runner;
  private readonly hostNetns: string | undefined;

  private readonly watchRuleset: boolean;
  private watch: Promise<RulesetWatch | null> | undefined;
  private kept: KeptRules | undefined;
  /** Full reads of HOST's iptables rules, and full observations that took the kept ones instead. */
  readonly rulesetReads = { read: 0, kept: 0 };

  private readonly ipWatch: IpWatch | undefined;
  private keptIp: KeptIp | undefined;
  private readonly ipKeptAtMostMs: number;
  /** Full reads of HOST's links, addresses and routes, and full observations that took the kept ones. */
  readonly ipReads = { read: 0, kept: 0 };
  /** The named namespaces' `ip` reads, kept by the same watch (full observations only). */
  private readonly nsKeep: NamespaceIpKeep | undefined;

  constructor(opts: RealKernelOptions = {}) {
    this.run = opts.run ?? defaultRun;
    this.hostNetns = opts.hostNetns;
    this.watchRuleset = opts.watchRuleset ?? false;
    const allNamespaces = opts.watchNamespacesIp ?? false;
    this.ipWatch = opts.watchIp ? new IpWatch(this.hostNetns, { allNamespaces }) : undefined;
    this.ipKeptAtMostMs = opts.ipKeptAtMostMs ?? IP_KEPT_AT_MOST_MS;
    this.nsKeep =
      this.ipWatch && allNamespaces
        ? new NamespaceIpKeep(this.ipWatch, this.ipKeptAtMostMs, (name) => namespaceInode(NETNS_DIR, name))
        : undefined;
  }

  /** Reads of named namespaces' links, addresses and routes in full observations, and those kept instead. */
  get namespaceIpReads(): { read: number; kept: number } {
    return { ...(this.nsKeep?.reads ?? { read: 0, kept: 0 }) };
  }

  /** Every counter of reads made and reads kept, by what was read (the agent's metrics). */
  readCounts(): KernelReadCounts {
    return { iptables: { ...this.rulesetReads }, ip: { ...this.ipReads }, namespace_ip: this.namespaceIpReads };
  }

  /** Ends the monitors, if any were started. */
  async close(): Promise<void> {
    this.ipWatch?.close();
    (await this.watch)?.close();
    this.kept = undefined;
    this.keptIp = undefined;
    this.nsKeep?.clear();
  }

  /** The mark of HOST's ruleset watch, or null (not watched, not listening yet). */
  private async rulesetMark(): Promise<number | null> {
    if (!this.watchRuleset) return null;
    this.watch ??= rulesetWatchFor(this.run, this.hostNetns);
    return (await this.watch)?.mark() ?? null;
  }

  /** The netns name to hand to run() for a namespace key. */
  private where(ns: NsKey): string | undefined {
    return ns === HOST ? this.hostNetns : ns;
  }

  /** HOST's links by name; from the kept `ip` read while it holds (a full pass asks first, then observes). */
  async linkNames(): Promise<string[]> {
    const kept = this.keptIpFor(this.ipWatch?.mark() ?? null, Date.now());
    if (kept) return kept.state.links.map((l) => l.name);
    const out = (await this.run(['ip', '-o', 'link', 'show'], { netns: this.hostNetns })).stdout;
    // "12: tap3c338602-d8@if2: <…>": the name sits between the index and the first ':' or '@'.
    return out.split('\n').flatMap((line) => {
      const m = /^\d+:\s+([^:@\s]+)/.exec(line);
      return m ? [m[1]!] : [];
    });
  }

  /** The named namespaces: what `ip netns list` prints, read from its directory without a process. */
  async listNamespaces(): Promise<string[]> {
    return existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : [];
  }

  async observe(scope: ObserveScope): Promise<ObservedNode> {
    return this.observeWith(scope, (ns, pass) => this.observeNamespace(ns, scope, pass), this.nsKeep);
  }

  /**
   * Only what `slice` names in HOST (see observe-slice.ts), and its namespaces whole; `scope` says
   * which sysctls, IP sets and daemons to read in those namespaces.
   */
  observeSlice(slice: Slice, scope: ObserveScope): Promise<ObservedNode> {
    return this.observeSliceWith(slice, scope);
  }

  /** observeSlice(), with HOST's links given when they were read already (`linksRead`, as readLinks() gives them). */
  private async observeSliceWith(slice: Slice, scope: ObserveScope, linksRead?: Obj[]): Promise<ObservedNode> {
    const named: ObserveScope = { ...scope, host: true, namespaces: [...slice.namespaces], prefixes: [] };
    return this.observeWith(named, (ns) =>
      ns === HOST
        ? observeHostSlice(this.run, this.hostNetns, slice, scope.sysctls[HOST] ?? [], linksRead)
        : this.observeNamespace(ns, named),
    );
  }

  /** `keep`: named namespaces may take their kept `ip` read, and keep this one (full observations). */
  private async observeWith(
    scope: ObserveScope,
    read: (ns: NsKey, pass: NamespacesPass | undefined) => Promise<ParsedNamespace | undefined>,
    keep?: NamespaceIpKeep,
  ): Promise<ObservedNode> {
    const others = scope.namespaces.length || scope.prefixes.length ? await this.listNamespaces() : [];
    const keys: NsKey[] = others.filter((n) => n !== this.hostNetns && inScope(scope, n));
    const pass = keep?.beginPass(keys);
    if (scope.host) keys.unshift(HOST);
    const parsed = await mapLimit(keys, OBSERVE_PARALLEL, (ns) => read(ns, pass));
    const node: ObservedNode = { namespaces: {} };
    const nsids = new Map<NsKey, Map<number, string>>();
    keys.forEach((ns, i) => {
      const p = parsed[i];
      if (!p) return; // vanished between listing and reading
      node.namespaces[ns] = p.state;
      nsids.set(ns, p.nsids);
    });
    if (pass) keep!.endPass(pass, nsids.get(HOST));
    resolvePeers(node, nsids, this.hostNetns ?? (await this.ownNetnsName()));
    return node;
  }

  private ownName: Promise<string | undefined> | undefined;

  /**
   * The name of the namespace this process runs in, if it has one (an agent started with nsenter in
   * a lab node): veth peers seen from other namespaces point at it by that name, and it is HOST.
   */
  private ownNetnsName(): Promise<string | undefined> {
    this.ownName ??= this.run(['ip', 'netns', 'identify', String(process.pid)])
      .then((r) => r.stdout.trim().split('\n')[0] || undefined)
      .catch(() => undefined);
    return this.ownName;
  }

  /** `pass`: a full observation's, whose named namespaces may take their kept `ip` read (ns-ip-keep.ts). */
  private async observeNamespace(ns: NsKey, scope: ObserveScope, pass?: NamespacesPass): Promise<ParsedNamespace | undefined> {
    const netns = this.where(ns);
    const keys = scope.sysctls[ns] ?? [];
    const fdbDevices = scope.fdbDevices?.[ns];
    const mark = ns === HOST ? await this.rulesetMark() : null;
    const kept = mark !== null && this.kept?.mark === mark ? this.kept : undefined;
    const ipMark = ns === HOST ? (this.ipWatch?.mark() ?? null) : null;
    const readAt = Date.now();
    const keptIp = this.keptIpFor(ipMark, readAt);
    const named = pass && ns !== HOST ? pass : undefined;
    const keptNs = named && this.nsKeep!.take(named, ns, readAt);
    if (named && !keptNs) this.nsKeep!.beforeRead(named, ns, readAt);
    try {
      const [read, ipset, fdb, sysctl] = await Promise.all([
        // Not by readRawNamespace: in this process's own namespace they come from /proc/sys.
        readRawNamespace(this.run, netns, [], {
          ip: keptIp === undefined && keptNs === undefined,
          fdb: fdbDevices === undefined,
          iptables: kept === undefined,
        }),
        ipsetsInScope(scope, ns) ? readIpsets(this.run, netns) : Promise.resolve(undefined),
        fdbDevices === undefined ? Promise.resolve(undefined) : readFdb(this.run, netns, fdbDevices),
        readSysctls(this.run, netns, keys),
      ]);
      if (ns === HOST) {
        this.rulesetReads[kept ? 'kept' : 'read']++;
        this.ipReads[keptIp ? 'kept' : 'read']++;
      }
      // The marks were taken before the read: anything changed since (during it too) moves them.
      if (mark !== null && !kept) this.kept = { mark, iptablesSave: read.iptablesSave, ip6tablesSave: read.ip6tablesSave };
      const rules = kept ? { ...read, iptablesSave: kept.iptablesSave, ip6tablesSave: kept.ip6tablesSave } : read;
      const raw = { ...rules, sysctl };
      const withFdb = fdb === undefined ? raw : { ...raw, fdb: JSON.stringify(fdb) };
      let ipState = keptIp?.state ?? keptNs;
      if (!ipState && (ipMark !== null || named)) {
        // Parsed once and frozen: HOST's watch or the namespaces' keep may hand it to later passes.
        ipState = deepFreeze(parseIpState(read.ip, read.route6));
        if (ipMark !== null) this.keepIp({ mark: ipMark, at: readAt, state: ipState });
        else this.nsKeep!.afterRead(named!, ns, ipState);
      }
      const result = parseNamespace(ns, ipset === undefined ? withFdb : { ...withFdb, ipset }, ipState && ipStateAgain(ipState));
      result.state.processes = await Promise.all((scope.processes[ns] ?? []).map(observeProcess));
      return result;
    } catch (e) {
      if (ns !== HOST && isExecError(e, 'not-found')) return undefined;
      throw e;
    }
  }

  /** The kept `ip` read if the watch's mark is still the one taken before it, and it is not too old. */
  private keptIpFor(mark: number | null, now: number): KeptIp | undefined {
    const kept = this.keptIp;
    return mark !== null && kept?.mark === mark && now - kept.at < this.ipKeptAtMostMs ? kept : undefined;
  }

  /**
   * Keeps a read of HOST for the next full observations, if the watch already counted neighbour
   * lines on the devices it names as neutrino's; otherwise the watch counts them from now on and the
   * next observation reads again (a line on one of them may have been passed over meanwhile).
   */
  private keepIp(read: KeptIp): void {
    const watch = this.ipWatch!;
    const neutrinoDevices = markedDevices(read.state);
    if (sameSet(watch.neighDevices, neutrinoDevices)) {
      this.keptIp = read;
    } else {
      watch.neighDevices = neutrinoDevices;
      this.keptIp = undefined;
    }
  }

  /** The commands in order; an iptables and an ip6tables restore of one namespace at once (concurrentSteps). */
  async apply(ops: readonly Op[]): Promise<void> {
    this.forgetKeptReads();
    for (const step of concurrentSteps(render(ops))) await this.applyStep(step);
  }

  /**
   * A tap plugged into its bridge is one `ip` batch, and the pass's confirming read of the two
   * links another `ip` process: here the read's lines follow the apply's in one batch (without
   * `-force`, so it stops at the first line that fails; the line's number says whether that was
   * the apply's or a read's). A spawn is the costliest part of either on a loaded node.
   */
  async applyAndObserveSlice(ops: readonly Op[], slice: Slice, scope: ObserveScope): Promise<ObservedNode | null> {
    this.forgetKeptReads();
    const steps = concurrentSteps(render(ops));
    const last = steps.at(-1);
    const tail = last?.length === 1 && isHostLinksAlone(slice) ? hostIpBatch(last[0]!) : undefined;
    for (const step of tail ? steps.slice(0, -1) : steps) await this.applyStep(step);
    if (!tail) return null;
    const names = [...slice.links].sort();
    // render.ts ends every line of a batch with a newline.
    const applied = tail.stdin.split('\n').length - 1;
    let stdout: string;
    try {
      stdout = (await this.run(['ip', '-j', '-d', '-batch', '-'], { netns: this.hostNetns, stdin: tail.stdin + linkReadLines(names) }))
        .stdout;
    } catch (e) {
      const line = isExecError(e) ? /Command failed -:(\d+)/.exec(e.stderr) : null;
      // A read's line failed (a link gone meanwhile): the apply went in; the caller reads again.
      if (line && Number(line[1]) > applied) return null;
      throw new ApplyError(tail.ops, e as Error);
    }
    const links = parseLinkReads(stdout);
    return links.length === names.length ? this.observeSliceWith(slice, scope, links) : null;
  }

  /** Our own change is in the monitors' output too, but it may arrive after the next read's mark. */
  private forgetKeptReads(): void {
    this.kept = undefined;
    this.keptIp = undefined;
    this.nsKeep?.clear();
  }

  private async applyStep(step: readonly Command[]): Promise<void> {
    const done = await Promise.allSettled(step.map((cmd) => this.execute(cmd)));
    const failed = done.findIndex((d) => d.status === 'rejected');
    if (failed >= 0) throw new ApplyError(step[failed]!.ops, (done[failed] as PromiseRejectedResult).reason as Error);
  }

  private async execute(cmd: Command): Promise<void> {
    switch (cmd.kind) {
      case 'run': {
        const netns = cmd.netns === null ? undefined : this.where(cmd.netns);
        await this.run(cmd.argv, cmd.stdin === undefined ? { netns } : { netns, stdin: cmd.stdin });
        return;
      }
      case 'proc-start':
        return startProcess(this.run, cmd.proc, this.where(cmd.netns));
      case 'proc-reload':
        return reloadProcess(cmd.proc);
      case 'proc-stop':
        return stopProcess(cmd.pidFile);
    }
  }
}

/** An `ip` batch in HOST (render.ts makes one of a namespace's link, address, route and neighbour ops). */
function hostIpBatch(cmd: Command): (Command & { kind: 'run'; stdin: string }) | undefined {
  const isIpBatch = cmd.kind === 'run' && cmd.netns === HOST && cmd.stdin !== undefined && cmd.argv.join(' ') === 'ip -batch -';
  return isIpBatch ? (cmd as Command & { kind: 'run'; stdin: string }) : undefined;
}
