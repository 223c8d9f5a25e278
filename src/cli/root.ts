// The `neutrino` root command, shared by the whole command tree (program.ts) and each command's own (index.ts).
import { Command } from 'commander';
import { EXIT_STATUS_HELP } from './exit.ts';

export function rootCommand(): Command {
  return new Command('neutrino')
    .description('A Neutron-compatible network virtualization service for Linux')
    .version('0.1.0')
    .exitOverride()
    .addHelpText('after', `\n${EXIT_STATUS_HELP}`);
}
