// The options every lab-facing command shares (--lab, --state-root) and the `-- CMD` they run: apart
// from cli/lab.ts so that instance, demo, metering and trace do not load the lab's bring-up.
import { Option, type Command } from 'commander';
import { DEFAULT_LAB, DEFAULT_STATE_ROOT } from '../lab/paths.ts';
import { LabUsageError } from '../lab/topology.ts';

/** --lab and --state-root, on every lab and instance command. */
export function labOptions(cmd: Command): Command {
  return cmd.option('--lab <name>', 'lab name; prefixes every namespace the lab makes', DEFAULT_LAB).addOption(stateRootOption());
}

/** --state-root: the flag, else $NEUTRINO_STATE_ROOT, else /var/lib/neutrino (lab/paths.ts stateRoot). */
export function stateRootOption(): Option {
  return new Option('--state-root <dir>', 'lab state goes to DIR/labs/<lab>').env('NEUTRINO_STATE_ROOT').default(DEFAULT_STATE_ROOT);
}

/** With passThroughOptions commander keeps the `--` that separates the command: drop it. */
export function commandAfterDashes(cmd: string[]): string[] {
  const out = cmd[0] === '--' ? cmd.slice(1) : cmd;
  if (!out.length) throw new LabUsageError('no command given (usage: ... -- CMD [ARGS...])');
  return out;
}
