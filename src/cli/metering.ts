// `neutrino metering`: the metering totals of a lab's server, the sum of what the L3 agents reported (each
// label in each router: packets and bytes its label chain counted), as a table or JSON.
import type { Command } from 'commander';
import { adminClient, loadLab } from '../lab/context.ts';
import { table } from '../lab/status.ts';
import type { MeteringCounter } from '../model/hostview.ts';
import { labOptions } from './lab-options.ts';

interface MeteringFlags {
  lab: string;
  stateRoot?: string;
  label?: string;
  json?: boolean;
}

type ReportedCounter = MeteringCounter & { host: string; updated_at: string };

export function registerMeteringCommand(program: Command): void {
  labOptions(
    program
      .command('metering')
      .description("Show the metering totals the L3 agents reported: packets and bytes per label and router (a lab's server)"),
  )
    .option('--label <id>', 'only this metering label')
    .option('--json', 'print JSON')
    .action(async (f: MeteringFlags) => {
      const client = adminClient(loadLab(f).state);
      const query = f.label ? `?label_id=${encodeURIComponent(f.label)}` : '';
      const { counters } = await client.call<{ counters: ReportedCounter[] }>('GET', `/v2.0/neutrino/metering-counters${query}`);
      if (f.json) {
        process.stdout.write(`${JSON.stringify(counters, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        table([
          ['LABEL', 'ROUTER', 'HOST', 'PACKETS', 'BYTES', 'REPORTED'],
          ...counters.map((c) => [c.label_id, c.router_id, c.host, String(c.packets), String(c.bytes), c.updated_at]),
        ]),
      );
    });
}
