// The `neutrino` command: parses arguments and maps every failure to one line and an exit status
// (see exit.ts: 0 success, 1 broken, 2 usage or environment, 3 inconclusive).
import { CommanderError } from 'commander';
import { EXIT_USAGE, failure } from './exit.js';
import type { Command } from 'commander';

export async function main(argv: string[]): Promise<void> {
  // `neutrino … | head`: a reader that went away is not an error of ours; stop quietly, as Unix tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  try {
    await (await commandTree(argv)).parseAsync(argv);
  } catch (e) {
    // Commander has printed its own message (or the help) already.
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT_USAGE);
    const { message, status } = failure(e);
    process.stderr.write(`neutrino: ${message}\n`);
    process.exit(status);
  }
}

/** The agent's own tree when the command is `agent` (its process then loads nothing else), else the whole one. */
async function commandTree(argv: string[]): Promise<Command> {
  if (argv[2] === 'agent') return (await import('./agent-program.js')).buildAgentProgram();
  return (await import('./program.js')).buildProgram();
}
