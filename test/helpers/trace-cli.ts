// `neutrino trace` as the CLI runs it, in-process: the options a command line without flags gives,
// and a run that returns its JSON report.
import { traceLabs } from '../../src/cli/trace-lab.ts';
import { runTrace, type TraceCliOptions } from '../../src/trace/run.ts';
import type { TraceReport } from '../../src/trace/report.ts';

export const traceCliDefaults = (): Omit<TraceCliOptions, 'kind' | 'target'> => ({
  labs: traceLabs(),
  nodes: {},
  agentConfigs: {},
  instancesPaths: {},
  protocol: 'icmp',
  format: 'json',
  detail: false,
  write: () => undefined,
  progress: () => undefined,
});

/** runTrace with `o` over the defaults: its exit status and its report. */
export async function traceJson(
  o: Partial<TraceCliOptions> & Pick<TraceCliOptions, 'kind' | 'target'>,
): Promise<{ code: number; report: TraceReport }> {
  let out = '';
  const code = await runTrace({ ...traceCliDefaults(), ...o, format: 'json', write: (s) => (out += s) });
  return { code, report: JSON.parse(out) as TraceReport };
}
