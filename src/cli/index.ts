// The `neutrino` command: parses arguments and maps every failure to one line and an exit status
// (see exit.ts: 0 success, 1 broken, 2 usage or environment, 3 inconclusive).
import { CommanderError } from 'commander';
import { EXIT_USAGE, failure } from './exit.ts';
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
  server: async () => (await import('./server.ts')).registerServerCommand,
  lab: async () => (await import('./lab.ts')).registerLabCommand,
  instance: async () => (await import('./instance.ts')).registerInstanceCommand,
  agent: async () => (await import('./agent.ts')).registerAgentCommand,
  demo: async () => (await import('./demo.ts')).registerDemoCommand,
  trace: async () => (await import('./trace.ts')).registerTraceCommand,
  metering: async () => (await import('./metering.ts')).registerMeteringCommand,
  web: async () => (await import('./web.ts')).registerWebCommand,
};

/** The named command's own tree; the whole one for anything else (help, --version, a typo). */
async function commandTree(argv: string[]): Promise<Command> {
  const name = argv[2];
  const register = name && Object.hasOwn(COMMANDS, name) ? await COMMANDS[name]!() : undefined;
  if (!register) return (await import('./program.ts')).buildProgram();
  const program = (await import('./root.ts')).rootCommand();
  register(program);
  return program;
}
