// `neutrino demo [--lab NAME] [--down]`: the canonical scenario end to end, with proofs.
import type { Command } from 'commander';
import { runDemo } from '../lab/demo.ts';
import { Abort } from '../lab/util.ts';
import { labOptions } from './lab-options.ts';

const print = (line: string) => process.stdout.write(`${line}\n`);

export function registerDemoCommand(program: Command): void {
  labOptions(
    program
      .command('demo')
      .description(
        'Bring up a lab and the canonical scenario, dual-stack (networks, router, instance with ssh, floating IP, SLAAC) and prove it from the external host over IPv4 and IPv6',
      ),
  )
    .option('--down', 'remove the lab at the end instead of leaving it up for exploring')
    .action(async (f: { lab: string; stateRoot?: string; down?: boolean }) => {
      const abort = new Abort();
      const onSignal = (sig: NodeJS.Signals) => abort.trigger(sig);
      process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
      try {
        await runDemo({ lab: f.lab, stateRoot: f.stateRoot, down: !!f.down, print, abort });
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      }
    });
}
