// Managed daemons of one namespace: start what is not running, restart on a new argv, SIGHUP on new
// files (or restart, for a daemon that reads them only at start).
import type { Op } from './ops.ts';
import type { DesiredNamespace, NsKey, ObservedNamespace, ObservedProcess, ProcessSpec } from './types.ts';

const sameArgv = (a: readonly string[] | null, b: readonly string[]): boolean =>
  a !== null && a.length === b.length && a.every((x, i) => x === b[i]);

const sameFiles = (want: ProcessSpec, got: ObservedProcess): boolean =>
  want.files.every((f) => got.files.find((g) => g.path === f.path)?.content === f.content);

export function diffProcesses(ns: NsKey, want: DesiredNamespace, have: ObservedNamespace): Op[] {
  const ops: Op[] = [];
  for (const p of want.processes) {
    const got = have.processes.find((x) => x.id === p.id);
    if (!got || got.pid === null) {
      ops.push({ op: 'proc-start', ns, proc: p });
    } else if (!sameArgv(got.argv, p.argv) || (p.onNewFiles === 'restart' && !sameFiles(p, got))) {
      ops.push({ op: 'proc-stop', ns, id: p.id, pidFile: got.pidFile }, { op: 'proc-start', ns, proc: p });
    } else if (!sameFiles(p, got)) {
      ops.push({ op: 'proc-reload', ns, proc: p });
    }
  }
  return ops;
}

/** Running processes nobody wants any more. */
export function unwantedProcesses(ns: NsKey, want: DesiredNamespace | undefined, have: ObservedNamespace): Op[] {
  const wanted = new Set((want?.processes ?? []).map((p) => p.id));
  return have.processes
    .filter((p) => p.pid !== null && !wanted.has(p.id))
    .map((p) => ({ op: 'proc-stop', ns, id: p.id, pidFile: p.pidFile }));
}
