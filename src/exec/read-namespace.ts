// The commands that read one namespace's kernel state as raw text (RawNamespace): the agent's observe
// and the tracer's collector run the same ones, so a snapshot parses exactly as the agent sees it.
import { IP_OBSERVE_BATCH, type RawNamespace } from '../observe/node.ts';
import { isExecError } from './errors.ts';
import type { Runner } from './run.ts';

/** One command and the RawNamespace field its stdout fills. */
export interface RawCommand {
  field: keyof RawNamespace;
  argv: string[];
  stdin?: string;
  /** A node without this tool leaves the field absent rather than failing the read. */
  optional?: true;
}

/** Commands left out of a read (their fields stay empty): each is read unless false. */
export interface RawReadOptions {
  /** The `ip` batch and the IPv6 routes. */
  ip?: boolean;
  fdb?: boolean;
  iptables?: boolean;
}

/**
 * In RawNamespace field order; `sysctl` only when keys are asked for (its field stays ''), `fdb`
 * unless left out (the caller reads the devices it wants: RealKernel with ObserveScope.fdbDevices),
 * the iptables-save pair and the `ip` pair unless left out (RealKernel takes its last read again when
 * nothing changed since: ruleset-watch.ts, ip-watch.ts).
 */
export function rawNamespaceCommands(
  sysctlKeys: readonly string[],
  { ip = true, fdb = true, iptables = true }: RawReadOptions = {},
): RawCommand[] {
  const cmds: RawCommand[] = [
    ...(ip
      ? [
          { field: 'ip' as const, argv: ['ip', '-j', '-d', '-batch', '-'], stdin: IP_OBSERVE_BATCH.join('\n') + '\n' },
          { field: 'route6' as const, argv: ['ip', '-6', '-j', '-d', 'route', 'show', 'table', 'main'] },
        ]
      : []),
    ...(fdb ? [{ field: 'fdb' as const, argv: ['bridge', '-j', 'fdb', 'show'] }] : []),
    ...(iptables
      ? [
          { field: 'iptablesSave' as const, argv: ['iptables-save'] },
          { field: 'ip6tablesSave' as const, argv: ['ip6tables-save'], optional: true as const },
        ]
      : []),
  ];
  if (sysctlKeys.length > 0) cmds.push({ field: 'sysctl', argv: ['sysctl', '-e', ...sysctlKeys] });
  return cmds;
}

const emptyRaw = (): RawNamespace => ({ ip: '', route6: '', fdb: '', iptablesSave: '', sysctl: '' });

/**
 * Runs the commands at once in `netns` (a name under /run/netns; undefined = the runner's own
 * namespace). The first failure rejects, as an ExecError from the runner.
 */
export async function readRawNamespace(
  run: Runner,
  netns: string | undefined,
  sysctlKeys: readonly string[],
  opts: RawReadOptions = {},
): Promise<RawNamespace> {
  const cmds = rawNamespaceCommands(sysctlKeys, opts);
  const outs = await Promise.all(
    cmds.map((c) =>
      run(c.argv, c.stdin === undefined ? { netns } : { netns, stdin: c.stdin }).catch((e: unknown) => {
        if (c.optional && isExecError(e, 'no-command')) return undefined;
        throw e;
      }),
    ),
  );
  const raw = emptyRaw();
  cmds.forEach((c, i) => {
    const out = outs[i];
    if (out !== undefined) raw[c.field] = out.stdout;
  });
  return raw;
}
