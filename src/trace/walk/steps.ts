// The walks as data. A walk is a list of steps run in order by one walker:
// - a gate: a precondition read from the API (the floating IP exists, the router is hosted, …). It
//   finds what later steps use and puts it in the walk's state; when it fails, its hop says why and
//   the walk ends there, since nothing past it can be located. A gate that holds may show a hop too.
// - hops: a check of one kind on the data path, on the node named by `where` (a field of the walk's
//   state holding a host). Hops never end the walk: the report's first broken hop is where traffic
//   stops, and the hops past it are still checked.
// - a branch: steps taken only when its condition holds; `last` ends the walk after them.
// Pure.
import type { TraceContext } from '../context.ts';
import type { HopDraft } from '../checks/checks.ts';
import { finish } from '../finish.ts';
import type { TraceReport, TraceTarget } from '../report.ts';

/** The fields of the walk's state that hold a host name. */
type HostField<W> = { [K in keyof W]: W[K] extends string ? K : never }[keyof W];

export type GateResult = { stop: boolean; hop?: HopDraft };
/** The precondition holds (`hop`: what shows it, if anything does). */
export const pass = (hop?: HopDraft): GateResult => (hop ? { stop: false, hop } : { stop: false });
/** The precondition fails: `hop` says why, and the walk ends. */
export const stop = (hop: HopDraft): GateResult => ({ stop: true, hop });

export interface Gate<W> {
  kind: 'gate';
  name: string;
  check: (w: W) => GateResult;
}

export interface Hops<W> {
  kind: 'hops';
  name: string;
  where: HostField<W>;
  when?: (w: W) => boolean;
  check: (w: W, host: string) => HopDraft | HopDraft[];
}

export interface Branch<W> {
  kind: 'branch';
  name: string;
  when: (w: W) => boolean;
  steps: Step<W>[];
  /** the walk ends after these steps */
  last?: boolean;
}

export type Step<W> = Gate<W> | Hops<W> | Branch<W>;

export const gate = <W>(name: string, check: Gate<W>['check']): Gate<W> => ({ kind: 'gate', name, check });
export const hops = <W>(name: string, where: HostField<W>, check: Hops<W>['check'], when?: Hops<W>['when']): Hops<W> =>
  when ? { kind: 'hops', name, where, when, check } : { kind: 'hops', name, where, check };
export const branch = <W>(name: string, when: Branch<W>['when'], steps: Step<W>[], last = false): Branch<W> => ({
  kind: 'branch',
  name,
  when,
  steps,
  last,
});

/** Runs `steps` on the walk's state, adding their hops to `out`; false when the walk has ended. */
function run<W>(steps: readonly Step<W>[], w: W, out: HopDraft[]): boolean {
  for (const step of steps) {
    if (step.kind === 'gate') {
      const r = step.check(w);
      if (r.hop) out.push(r.hop);
      if (r.stop) return false;
    } else if (step.kind === 'hops') {
      if (step.when && !step.when(w)) continue;
      const found = step.check(w, w[step.where] as string);
      if (Array.isArray(found)) out.push(...found);
      else out.push(found);
    } else if (step.when(w)) {
      if (!run(step.steps, w, out) || step.last) return false;
    }
  }
  return true;
}

/** The walk's hops, numbered and judged: the report. The gates fill `target` as they find things. */
export function walk<W extends { ctx: TraceContext; target: TraceTarget }>(steps: readonly Step<W>[], w: W, started: number): TraceReport {
  const out: HopDraft[] = [];
  run(steps, w, out);
  return finish(w.ctx, w.target, out, started);
}
