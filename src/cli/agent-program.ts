// `neutrino agent` alone: a node agent runs for weeks on every node, so its process loads the agent's
// modules only, not the server, tracer and web UI that the whole command tree imports (resident
// memory: the whole tree costs ~25 MiB more).
import type { Command } from 'commander';
import { registerAgentCommand } from './agent.js';
import { rootCommand } from './root.js';

export function buildAgentProgram(): Command {
  const program = rootCommand();
  registerAgentCommand(program);
  return program;
}
