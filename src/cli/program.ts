// The `neutrino` command tree, built apart from running it so that tests can walk every command.
import { Command } from 'commander';
import { registerAgentCommand } from './agent.js';
import { registerDemoCommand } from './demo.js';
import { EXIT_STATUS_HELP } from './exit.js';
import { registerInstanceCommand } from './instance.js';
import { registerLabCommand } from './lab.js';
import { registerMeteringCommand } from './metering.js';
import { registerServerCommand } from './server.js';
import { registerTraceCommand } from './trace.js';
import { registerWebCommand } from './web.js';

export function buildProgram(): Command {
  const program = new Command('neutrino')
    .description('A Neutron-compatible network virtualization service for Linux')
    .version('0.1.0')
    .exitOverride()
    .addHelpText('after', `\n${EXIT_STATUS_HELP}`);
  registerServerCommand(program);
  registerLabCommand(program);
  registerInstanceCommand(program);
  registerAgentCommand(program);
  registerDemoCommand(program);
  registerTraceCommand(program);
  registerMeteringCommand(program);
  registerWebCommand(program);
  return program;
}
