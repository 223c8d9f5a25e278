// Standing iptables faults of one namespace, for the picture: what the tracer finds on a path
// through it, found without a trace — a floating IP's DNAT or SNAT gone (NAT_RULE_MISSING), the
// metadata REDIRECT gone (METADATA_REDIRECT_MISSING), a port's security-group chain gone or missing a
// rule (SG_CHAIN_MISSING), and a DROP or REJECT the agent never wrote in a built-in chain or a
// port's chain (a rule added by hand). The rest of the planner's scaffolding (jumps, marks) and rules of other tools are
// left to the tracer's checks on a path: a recording by an older agent, or a real Neutron's rules,
// differ there without a fault. Rules are compared by meaning (compare.ts). A fault is put on the
// device the chain or rule names (a port's tap, a router's qg-), else on the namespace. Pure.
import {
  BUILTIN_CHAINS,
  type ChainSpec,
  type DesiredNamespace,
  type NsKey,
  type ObservedChain,
  type ObservedNamespace,
  type TableName,
} from '../kernel/types.ts';
import { metadataNatRule, metadataNatRule6 } from '../planner/metadata.ts';
import { ruleKey, ruleTarget } from '../trace/checks/compare.ts';
import type { Fault } from './topology.ts';

/** Neutron's port chains (neutron-linuxbri-[ios]<port id[:10]>): the port's tap starts with tap<the same 10>. */
const PORT_CHAIN = /^neutron-linuxbri-[ios]([0-9a-f-]{10})$/;
const DROPS = new Set(['DROP', 'REJECT']);
const DROP_WORD = /-j (DROP|REJECT)\b/;
/** The target's name alone: DNAT of `-j DNAT --to-destination 10.0.0.3`. */
const targetName = (rule: string): string => ruleTarget(rule).split(' ')[1] ?? '';
/** The device a rule names by `-i`/`-o` (not a wildcard such as qr-+). */
const ruleDevice = (rule: string): string | null => / -[io] ([^\s+]+)(?: |$)/.exec(` ${rule}`)?.[1] ?? null;

export interface PlacedFault {
  /** the device's name in the namespace, or null: the namespace itself */
  device: string | null;
  fault: Fault;
}

interface Where {
  host: string;
  ns: NsKey;
  tool: 'iptables' | 'ip6tables';
  table: TableName;
  chain: string;
  /** devices present in the namespace */
  devices: ReadonlySet<string>;
}

/** The device a chain (a port's) or a rule (-i/-o) belongs to, when it is in the namespace. */
function placeOf(w: Where, rule: string | null): string | null {
  const port = PORT_CHAIN.exec(w.chain);
  if (port) {
    const prefix = `tap${port[1]}`;
    for (const d of w.devices) if (d.startsWith(prefix)) return d;
  }
  const dev = rule ? ruleDevice(rule) : null;
  return dev && w.devices.has(dev) ? dev : null;
}

const inNs = (w: Where) => `${w.ns ? `in ${w.ns} ` : ''}on ${w.host}`;

const NAT_TARGETS = new Set(['DNAT', 'SNAT']);

/** The tracer's reason when this rule is missing; null: not a rule the tracer checks. */
function missingReason(w: Where, rule: string): Fault['reason'] | null {
  if (rule === metadataNatRule || rule === metadataNatRule6) return 'METADATA_REDIRECT_MISSING';
  if (PORT_CHAIN.test(w.chain)) return 'SG_CHAIN_MISSING';
  if (w.table === 'nat' && NAT_TARGETS.has(targetName(rule))) return 'NAT_RULE_MISSING';
  return null;
}

function chainFaults(w: Where, want: ChainSpec, have: ObservedChain | undefined): PlacedFault[] {
  const line = (r: string) => `-A ${w.chain} ${r}`;
  if (!have) {
    const checked = want.rules.filter((r) => missingReason(w, r) !== null);
    if (!checked.length) return [];
    return [
      {
        device: placeOf(w, checked[0]!),
        fault: {
          status: 'missing',
          reason: missingReason(w, checked[0]!)!,
          cause: `${w.tool} ${w.table} chain ${w.chain} is missing ${inNs(w)}: ${checked.map((r) => `'${line(r)}'`).join(', ')} not applied`,
        },
      },
    ];
  }
  const out: PlacedFault[] = [];
  // Checked rules only (a node's shared chains, with a rule per port, have none), each found as
  // written or else by meaning; the chain's keys computed once, and only when needed.
  let keys: Set<string> | null = null;
  const present = (rule: string) => {
    if (written.has(rule)) return true;
    keys ??= new Set(have.rules.map(ruleKey));
    return keys.has(ruleKey(rule));
  };
  const written = new Set(have.rules);
  for (const rule of want.rules) {
    const reason = missingReason(w, rule);
    if (reason && !present(rule))
      out.push({
        device: placeOf(w, rule),
        fault: { status: 'missing', reason, cause: `${w.tool} ${w.table} has no '${line(rule)}' ${inNs(w)}` },
      });
  }
  // Where the agent writes only jumps (built-in chains) or a port's rules: a drop there is not its own.
  // (Its own router chains hold drops of Neutron's that the planner may not write, e.g. address scopes'.)
  if (!BUILTIN_CHAINS[w.table].includes(w.chain) && !PORT_CHAIN.test(w.chain)) return out;
  const wantedText = new Set(want.rules);
  let wanted: Set<string> | null = null;
  for (const rule of have.rules) {
    // Cheap tests first: most rules neither drop nor differ from the planner's text.
    if (!DROP_WORD.test(rule) || wantedText.has(rule) || !DROPS.has(targetName(rule))) continue;
    wanted ??= new Set(want.rules.map(ruleKey));
    if (!wanted.has(ruleKey(rule)))
      out.push({
        device: placeOf(w, rule),
        fault: {
          status: 'mismatch',
          reason: 'IPTABLES_RULE_UNEXPECTED',
          cause: `${w.tool} ${w.table} has '${line(rule)}' ${inNs(w)}, which the agent never writes: it drops what the chain should pass`,
        },
      });
  }
  return out;
}

/** The standing iptables and ip6tables faults of a namespace the planner writes tables for. */
export function iptablesFaults(host: string, ns: NsKey, desired: DesiredNamespace, observed: ObservedNamespace): PlacedFault[] {
  const devices = new Set(observed.links.map((l) => l.name));
  const out: PlacedFault[] = [];
  for (const [tool, want, have] of [
    ['iptables', desired.iptables, observed.iptables],
    ['ip6tables', desired.ip6tables, observed.ip6tables],
  ] as const) {
    if (!want || !have) continue; // ip6tables not planned, or not read
    for (const [table, chains] of Object.entries(want) as Array<[TableName, ChainSpec[]]>) {
      const read = new Map((have[table] ?? []).map((c) => [c.name, c]));
      for (const chain of chains)
        out.push(...chainFaults({ host, ns, tool, table, chain: chain.name, devices }, chain, read.get(chain.name)));
    }
  }
  return out;
}
