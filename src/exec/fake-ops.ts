// The fake kernel's handling of addresses, routes, neighbours, fdb, sysctls, iptables and daemons.
import { defaultMetric, routeFamily, routeKey } from '../kernel/diff-l3.ts';
import { isOwnedChain, ROUTE_PROTO, ruleIpsets } from '../kernel/mark.ts';
import type { Op } from '../kernel/ops.ts';
import { BUILTIN_CHAINS, routeDevices, type ObservedChain, type ObservedNamespace } from '../kernel/types.ts';
import { canonicalNet, cidrFamily, ZERO_MAC } from '../kernel/values.ts';
import { ExecError, type ErrorKind } from './errors.ts';

/** Fails like the real command would, with the same error kind. */
export function fakeFail(kind: ErrorKind, op: Op, message: string): never {
  throw new ExecError(kind, ['fake', op.op], 1, message, op.ns || undefined);
}

function needDev(state: ObservedNamespace, op: Op, dev: string | undefined): void {
  if (dev !== undefined && !state.links.some((l) => l.name === dev)) fakeFail('not-found', op, `Cannot find device "${dev}"`);
}

export function applyL3(state: ObservedNamespace, op: Op): void {
  switch (op.op) {
    case 'sysctl':
      state.sysctls[op.key] = op.value;
      return;
    case 'addr-add': {
      needDev(state, op, op.addr.dev);
      const dup = state.addresses.some((a) => a.dev === op.addr.dev && a.address === op.addr.address);
      if (dup) fakeFail('exists', op, 'RTNETLINK answers: File exists');
      state.addresses.push({ ...op.addr, family: cidrFamily(op.addr.address), scope: 'global' });
      return;
    }
    case 'addr-del': {
      const i = state.addresses.findIndex((a) => a.dev === op.addr.dev && a.address === op.addr.address);
      if (i < 0) fakeFail('not-found', op, 'RTNETLINK answers: Cannot assign requested address');
      state.addresses.splice(i, 1);
      return;
    }
    case 'route-replace': {
      for (const dev of routeDevices(op.route)) needDev(state, op, dev);
      const r = op.route;
      const family = routeFamily(r);
      state.routes = state.routes.filter((x) => routeKey(x) !== routeKey({ ...r, family }));
      state.routes.push({
        ...r,
        family,
        metric: r.metric ?? defaultMetric(family),
        protocol: ROUTE_PROTO,
        scope: r.scope ?? (r.via === undefined && r.nexthops === undefined ? 'link' : 'global'),
        type: 'unicast',
      });
      return;
    }
    case 'route-del': {
      const before = state.routes.length;
      state.routes = state.routes.filter((x) => routeKey(x) !== routeKey(op.route));
      if (state.routes.length === before) fakeFail('not-found', op, 'RTNETLINK answers: No such process');
      return;
    }
    case 'neigh-replace':
      needDev(state, op, op.neigh.dev);
      state.neigh = state.neigh.filter((n) => !(n.dev === op.neigh.dev && n.ip === op.neigh.ip));
      state.neigh.push({ ip: op.neigh.ip, dev: op.neigh.dev, lladdr: op.neigh.lladdr, state: ['PERMANENT'] });
      return;
    case 'neigh-del': {
      const i = state.neigh.findIndex((n) => n.dev === op.neigh.dev && n.ip === op.neigh.ip);
      if (i < 0) fakeFail('not-found', op, 'RTNETLINK answers: No such file or directory');
      state.neigh.splice(i, 1);
      return;
    }
    case 'fdb-add':
    case 'fdb-del':
      return applyFdb(state, op);
    default:
      throw new Error(`fake: ${op.op} is not an l3 op`);
  }
}

function applyFdb(state: ObservedNamespace, op: Extract<Op, { op: 'fdb-add' | 'fdb-del' }>): void {
  const f = op.fdb;
  const same = (e: ObservedNamespace['fdb'][number]) => e.dev === f.dev && e.mac === f.mac && e.flags.includes('self');
  if (op.op === 'fdb-del') {
    const i = state.fdb.findIndex((e) => same(e) && e.dst === f.dst);
    if (i < 0) fakeFail('not-found', op, 'RTNETLINK answers: No such file or directory');
    state.fdb.splice(i, 1);
    return;
  }
  needDev(state, op, f.dev);
  // append adds to the all-zero list; replace moves a unicast MAC to its new VTEP.
  if (f.mac === ZERO_MAC && state.fdb.some((e) => same(e) && e.dst === f.dst)) fakeFail('exists', op, 'RTNETLINK answers: File exists');
  if (f.mac !== ZERO_MAC) state.fdb = state.fdb.filter((e) => !same(e));
  state.fdb.push({ mac: f.mac, dev: f.dev, dst: f.dst, flags: ['self'], state: 'permanent' });
}

/** One iptables-restore or ip6tables-restore: checked as a whole first, like the real transaction. */
export function applyIptables(state: ObservedNamespace, op: Extract<Op, { op: 'iptables' | 'ip6tables' }>): void {
  const tables = op.op === 'iptables' ? state.iptables : (state.ip6tables ??= {});
  const chains: ObservedChain[] = structuredClone(
    tables[op.table] ?? BUILTIN_CHAINS[op.table].map((name) => ({ name, policy: 'ACCEPT', rules: [] })),
  );
  const get = (name: string) => chains.find((c) => c.name === name);
  const { write, builtins, delete: dels } = op.change;
  for (const name of [...write.map((w) => w.name), ...dels]) {
    const c = get(name);
    if (c) c.rules = [];
    else chains.push({ name, policy: null, rules: [] });
  }
  for (const b of builtins) {
    const c = get(b.chain) ?? fakeFail('not-found', op, `Chain '${b.chain}' does not exist`);
    for (const r of b.remove) {
      const i = c.rules.indexOf(r);
      if (i < 0) fakeFail('not-found', op, 'Bad rule (does a matching rule exist in that chain?)');
      c.rules.splice(i, 1);
    }
  }
  for (const w of write) get(w.name)!.rules.push(...w.rules);
  for (const e of op.change.edit ?? []) {
    const c = get(e.chain) ?? fakeFail('not-found', op, `Chain '${e.chain}' does not exist`);
    for (const at of e.deleteAt) {
      if (at > c.rules.length) fakeFail('not-found', op, 'Index of deletion too big');
      c.rules.splice(at - 1, 1);
    }
    for (const r of e.deleteRules ?? []) {
      const i = c.rules.indexOf(r);
      if (i < 0) fakeFail('not-found', op, 'Bad rule (does a matching rule exist in that chain?)');
      c.rules.splice(i, 1);
    }
    for (const { at, rule } of e.insert) {
      if (at > c.rules.length + 1) fakeFail('invalid', op, 'Index of insertion too big');
      c.rules.splice(at - 1, 0, rule);
    }
  }
  for (const b of builtins) get(b.chain)!.rules.unshift(...b.insert);
  const left = chains.filter((c) => !dels.includes(c.name));
  for (const c of left) for (const r of c.rules) checkTarget(op, r, left);
  for (const c of left) for (const r of c.rules) checkSets(op, r, state);
  tables[op.table] = left;
}

/** iptables refuses a rule that matches a missing set or an IPv6 set; ip6tables one that matches an IPv4 set. */
function checkSets(op: Extract<Op, { op: 'iptables' | 'ip6tables' }>, rule: string, state: ObservedNamespace): void {
  const [other, otherName] = op.op === 'iptables' ? ['inet6', 'IPv6'] : ['inet', 'IPv4'];
  for (const name of ruleIpsets(rule)) {
    const set = state.ipsets.find((s) => s.name === name) ?? fakeFail('not-found', op, `Set ${name} doesn't exist.`);
    if (set.family === other) fakeFail('invalid', op, `The protocol family of set ${name} is ${otherName}, which is not applicable.`);
  }
}

const setInUse = (state: ObservedNamespace, name: string): boolean =>
  [...Object.values(state.iptables), ...Object.values(state.ip6tables ?? {})].some((chains) =>
    (chains ?? []).some((c) => c.rules.some((r) => ruleIpsets(r).includes(name))),
  );

/** One `ipset restore -exist` op, with the kernel's refusals (a set in use, a create over another type). */
export function applyIpset(state: ObservedNamespace, op: Extract<Op, { op: 'ipset' | 'ipset-destroy' }>): void {
  const destroy = (name: string) => {
    if (!state.ipsets.some((s) => s.name === name)) return; // -exist
    if (setInUse(state, name)) fakeFail('busy', op, 'Set cannot be destroyed: it is in use by a kernel component');
    state.ipsets = state.ipsets.filter((s) => s.name !== name);
  };
  if (op.op === 'ipset-destroy') return destroy(op.name);
  const c = op.change;
  if (c.mode === 'recreate') destroy(c.name);
  let set = state.ipsets.find((s) => s.name === c.name);
  if (c.mode !== 'update') {
    if (set && (set.type !== c.type || set.family !== c.family))
      fakeFail('exists', op, 'Set cannot be created: set with the same name already exists');
    if (!set) {
      set = { name: c.name, type: c.type, family: c.family, options: 'hashsize 1024 maxelem 65536 bucketsize 12', members: [] };
      state.ipsets.push(set);
    }
  }
  if (!set) fakeFail('not-found', op, 'The set with the given name does not exist');
  const del = new Set(c.del.map(canonicalNet));
  set.members = set.members.filter((m) => !del.has(m));
  for (const m of c.add.map(canonicalNet)) if (!set.members.includes(m)) set.members.push(m);
}

function checkTarget(op: Op, rule: string, chains: ObservedChain[]): void {
  const target = /(?:^|\s)-[jg]\s+(\S+)/.exec(rule)?.[1];
  if (target && isOwnedChain(target) && !chains.some((c) => c.name === target)) {
    fakeFail('not-found', op, `Chain '${target}' does not exist`);
  }
}

export function applyProcess(
  state: ObservedNamespace,
  op: Extract<Op, { op: 'proc-start' | 'proc-reload' | 'proc-stop' }>,
  counters: { nextPid: number },
): void {
  if (op.op === 'proc-stop') {
    state.processes = state.processes.filter((p) => p.id !== op.id);
    return;
  }
  const p = op.proc;
  const running = state.processes.find((x) => x.id === p.id && x.pid !== null);
  if (op.op === 'proc-reload' && !running) fakeFail('not-found', op, 'No such process');
  const files = p.files.map((f) => ({ path: f.path, content: f.content }));
  if (op.op === 'proc-reload') {
    running!.files = files;
    return;
  }
  if (running) fakeFail('exists', op, `${p.id} already running`);
  state.processes = state.processes.filter((x) => x.id !== p.id);
  state.processes.push({ id: p.id, pidFile: p.pidFile, pid: counters.nextPid++, argv: [...p.argv], files });
}
