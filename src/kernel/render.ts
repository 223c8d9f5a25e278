// Pure: ordered ops → the commands that perform them, consecutive ops of one tool and namespace batched together.
import { assertNamespaceName } from './names.ts';
import type { Op } from './ops.ts';
import { bridgeLines, ipLines } from './render-ip.ts';
import { ipsetLines } from './render-ipset.ts';
import { renderTable } from './render-iptables.ts';
import type { NsKey, ProcessSpec } from './types.ts';

/**
 * A command to run. `netns` is where: an NsKey (HOST = the node's own namespace), or null for
 * commands that are about namespaces themselves (`ip netns add/del`). The executor maps it to
 * `ip -n`/`bridge -n` or `nsenter --net=/run/netns/…`. Processes need more than an argv (pid
 * files, signals), so they stay structured.
 */
export type Command =
  | { kind: 'run'; netns: NsKey | null; argv: string[]; stdin?: string; ops: Op[] }
  | { kind: 'proc-start'; netns: NsKey; proc: ProcessSpec; ops: Op[] }
  | { kind: 'proc-reload'; netns: NsKey; proc: ProcessSpec; ops: Op[] }
  | { kind: 'proc-stop'; netns: NsKey; id: string; pidFile: string; ops: Op[] };

type Tool = 'ip' | 'bridge' | 'sysctl' | 'iptables' | 'ip6tables' | 'ipset';

function toolOf(op: Op): Tool | undefined {
  if (op.op === 'fdb-add' || op.op === 'fdb-del') return 'bridge';
  if (op.op === 'sysctl') return 'sysctl';
  if (op.op === 'iptables') return 'iptables';
  if (op.op === 'ip6tables') return 'ip6tables';
  if (op.op === 'ipset' || op.op === 'ipset-destroy') return 'ipset';
  if (op.op.startsWith('proc-') || op.op.startsWith('netns-')) return undefined;
  return 'ip';
}

export function render(ops: readonly Op[]): Command[] {
  const out: Command[] = [];
  let group: { tool: Tool; ns: NsKey; ops: Op[] } | undefined;
  const flush = () => {
    if (group) out.push(batch(group.tool, group.ns, group.ops));
    group = undefined;
  };
  for (const op of ops) {
    const tool = toolOf(op);
    if (tool === undefined) {
      flush();
      out.push(single(op));
      continue;
    }
    if (group && (group.tool !== tool || group.ns !== op.ns)) flush();
    group ??= { tool, ns: op.ns, ops: [] };
    group.ops.push(op);
  }
  flush();
  return out;
}

const isRestore = (c: Command, tool: string): boolean => c.kind === 'run' && c.argv[0] === `${tool}-restore`;

/**
 * The commands in steps that may run at once: an iptables-restore and an ip6tables-restore of one
 * namespace next to each other share a step (two tables of two families: neither's rules name the
 * other's, and each is its own transaction); every other command is a step of its own, in order.
 */
export function concurrentSteps(cmds: readonly Command[]): Command[][] {
  const steps: Command[][] = [];
  for (let i = 0; i < cmds.length; i++) {
    const a = cmds[i]!;
    const b = cmds[i + 1];
    const pair =
      b !== undefined &&
      a.kind === 'run' &&
      b.kind === 'run' &&
      a.netns === b.netns &&
      ((isRestore(a, 'iptables') && isRestore(b, 'ip6tables')) || (isRestore(a, 'ip6tables') && isRestore(b, 'iptables')));
    if (pair) {
      steps.push([a, b]);
      i++;
    } else steps.push([a]);
  }
  return steps;
}

function single(op: Op): Command {
  switch (op.op) {
    case 'netns-add':
      return { kind: 'run', netns: null, argv: ['ip', 'netns', 'add', assertNamespaceName(op.ns)], ops: [op] };
    case 'netns-del':
      return { kind: 'run', netns: null, argv: ['ip', 'netns', 'del', assertNamespaceName(op.ns)], ops: [op] };
    case 'proc-start':
      return { kind: 'proc-start', netns: op.ns, proc: op.proc, ops: [op] };
    case 'proc-reload':
      return { kind: 'proc-reload', netns: op.ns, proc: op.proc, ops: [op] };
    case 'proc-stop':
      return { kind: 'proc-stop', netns: op.ns, id: op.id, pidFile: op.pidFile, ops: [op] };
    default:
      throw new Error(`op ${op.op} is batched, not single`);
  }
}

function batch(tool: Tool, ns: NsKey, ops: Op[]): Command {
  switch (tool) {
    case 'ip':
      return { kind: 'run', netns: ns, argv: ['ip', '-batch', '-'], stdin: lines(ops, ipLines), ops };
    case 'bridge':
      return { kind: 'run', netns: ns, argv: ['bridge', '-batch', '-'], stdin: lines(ops, bridgeLines), ops };
    case 'sysctl':
      return { kind: 'run', netns: ns, argv: ['sysctl', '-q', '-w', ...ops.map(sysctlArg)], ops };
    case 'iptables':
    case 'ip6tables': {
      const text = ops.map((o) => (o.op === tool ? renderTable(o.table, o.change) : '')).join('');
      // -w: wait for the xtables lock instead of failing (legacy backend; harmless on nf_tables).
      return { kind: 'run', netns: ns, argv: [`${tool}-restore`, '-w', '--noflush'], stdin: text, ops };
    }
    case 'ipset':
      return { kind: 'run', netns: ns, argv: ['ipset', 'restore', '-exist'], stdin: lines(ops, ipsetLines), ops };
  }
}

function lines(ops: Op[], fn: (op: Op) => string[] | undefined): string {
  return ops.flatMap((op) => fn(op) ?? []).join('\n') + '\n';
}

function sysctlArg(op: Op): string {
  if (op.op !== 'sysctl') throw new Error('not a sysctl op');
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_/-]+)+$/.test(op.key) || !/^[A-Za-z0-9_.:/ -]*$/.test(op.value)) {
    throw new Error(`bad sysctl ${op.key}=${op.value}`);
  }
  return `${op.key}=${op.value}`;
}
