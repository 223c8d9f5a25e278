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

/**
 * Each command's registration, loaded on demand: a process builds the tree of the one command it
 * runs, so it loads that command's modules only. A node agent runs for weeks (the whole tree costs
 * it ~25 MiB of resident memory) and the tests and operators start `trace`, `instance exec` and `lab`
 * hundreds of times (module loading was most of their start-up).
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  server: async () => (await import('./server.js')).registerServerCommand,
  lab: async () => (await import('./lab.js')).registerLabCommand,
  instance: async () => (await import('./instance.js')).registerInstanceCommand,
  agent: async () => (await import('./agent.js')).registerAgentCommand,
  demo: async () => (await import('./demo.js')).registerDemoCommand,
  trace: async () => (await import('./trace.js')).registerTraceCommand,
  metering: async () => (await import('./metering.js')).registerMeteringCommand,
  web: async () => (await import('./web.js')).registerWebCommand,
};

/** The named command's own tree; the whole one for anything else (help, --version, a typo). */
async function commandTree(argv: string[]): Promise<Command> {
  const name = argv[2];
  const register = name && Object.hasOwn(COMMANDS, name) ? await COMMANDS[name]!() : undefined;
  if (!register) return (await import('./program.js')).buildProgram();
  const program = (await import('./root.js')).rootCommand();
  register(program);
  return program;
}
