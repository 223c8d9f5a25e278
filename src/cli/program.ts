// The `neutrino` command tree, built apart from running it so that tests can walk every command.
import type { Command } from 'commander';
import { registerAgentCommand } from './agent.js';
import { registerDemoCommand } from './demo.js';
import { registerInstanceCommand } from './instance.js';
import { registerLabCommand } from './lab.js';
import { registerMeteringCommand } from './metering.js';
import { registerServerCommand } from './server.js';
import { registerTraceCommand } from './trace.js';
import { registerWebCommand } from './web.js';
import { rootCommand } from './root.js';

export function buildProgram(): Command {
  const program = rootCommand();
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
