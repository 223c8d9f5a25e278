// Typed failures of commands, with the kernel's error kind recognised once, here, from stderr and exit status.

export type ErrorKind = 'exists' | 'not-found' | 'busy' | 'permission' | 'invalid' | 'no-command' | 'timeout' | 'failed';

/** A command that failed: what ran, where, how it ended and what it said. */
export class ExecError extends Error {
  readonly kind: ErrorKind;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly netns?: string;
  readonly failedLine?: string;

  constructor(
    kind: ErrorKind,
    argv: readonly string[],
    exitCode: number | null,
    stderr: string,
    netns?: string,
    /** For batches (`-batch -`, iptables-restore): the input line that failed, when the tool says. */
    failedLine?: string,
  ) {
    const where = netns ? ` in netns ${netns}` : '';
    const line = failedLine ? ` at "${failedLine}"` : '';
    super(`${argv.join(' ')}${where} failed (${kind}, exit ${exitCode ?? 'signal'})${line}: ${stderr.trim().split('\n')[0] ?? ''}`);
    this.kind = kind;
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.netns = netns;
    this.failedLine = failedLine;
    this.name = 'ExecError';
  }
}

/** Patterns of iproute2, iptables-restore, sysctl and nsenter messages (strerror texts mostly). */
const KINDS: [ErrorKind, RegExp][] = [
  ['exists', /File exists|already exists/i],
  [
    'busy',
    /Device or resource busy|Resource temporarily unavailable|xtables lock|CHAIN_USER_DEL failed \(Device or resource busy\)|in use by a kernel component/i,
  ],
  ['permission', /Operation not permitted|Permission denied/i],
  [
    'not-found',
    /Cannot find device|No such device|No such file or directory|does not exist|No such process|Cannot assign requested address|Cannot open network namespace|Bad rule \(does a matching rule exist/i,
  ],
  [
    'invalid',
    /Invalid argument|Garbage instead of arguments|is wrong|Numerical result out of range|Nexthop device is not up|Network is unreachable|Error occurred at line|unknown option|not a valid/i,
  ],
];

export function classify(stderr: string, exitCode: number | null): ErrorKind {
  for (const [kind, re] of KINDS) if (re.test(stderr)) return kind;
  // iptables-restore exits 4 when it could not get the xtables lock.
  if (exitCode === 4) return 'busy';
  return 'failed';
}

/** The input line a batch tool reports: ip/bridge "Command failed -:N", iptables-restore "Error occurred at line: N", ipset restore "Error in line N:". */
export function failedLine(stderr: string, stdin: string | undefined): string | undefined {
  if (stdin === undefined) return undefined;
  const m = /Command failed -:(\d+)|Error occurred at line: (\d+)|Error in line (\d+):/.exec(stderr);
  const n = Number(m?.[1] ?? m?.[2] ?? m?.[3] ?? 0);
  return n > 0 ? stdin.split('\n')[n - 1] : undefined;
}

export const isExecError = (e: unknown, kind?: ErrorKind): e is ExecError =>
  e instanceof ExecError && (kind === undefined || e.kind === kind);
