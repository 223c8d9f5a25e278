// The `neutrino` command: parses arguments and maps every failure to one line and an exit code.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../server-config.js';
import { registerServerCommand } from './server.js';
import { registerLabCommand } from './lab.js';
import { registerInstanceCommand } from './instance.js';
import { registerAgentCommand } from './agent.js';
import { registerDemoCommand } from './demo.js';
import { registerTraceCommand } from './trace.js';
import { AgentConfigError } from '../agent/config.js';

export async function main(argv: string[]): Promise<void> {
  // `neutrino … | head`: a reader that went away is not an error of ours; stop quietly, as Unix tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  const program = new Command('neutrino')
    .description('A Neutron-compatible network virtualization service for Linux')
    .version('0.1.0')
    .exitOverride();
  registerServerCommand(program);
  registerLabCommand(program);
  registerInstanceCommand(program);
  registerAgentCommand(program);
  registerDemoCommand(program);
  registerTraceCommand(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    const usage = e instanceof ConfigError || e instanceof AgentConfigError;
    const message = usage ? e.message : (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? `address already in use: ${(e as Error).message}` : (e as Error).message;
    process.stderr.write(`neutrino: ${message}\n`);
    process.exit(usage ? 2 : 1);
  }
}
