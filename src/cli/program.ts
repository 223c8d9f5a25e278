// The `neutrino` command tree, built apart from running it so that tests can walk every command.
import type { Command } from 'commander';
import { registerAgentCommand } from './agent.ts';
import { registerDemoCommand } from './demo.ts';
import { registerInstanceCommand } from './instance.ts';
import { registerLabCommand } from './lab.ts';
import { registerMeteringCommand } from './metering.ts';
import { registerServerCommand } from './server.ts';
import { registerTraceCommand } from './trace.ts';
import { registerWebCommand } from './web.ts';
import { rootCommand } from './root.ts';

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
