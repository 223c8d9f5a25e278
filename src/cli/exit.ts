// The exit statuses every `neutrino` command uses, so that scripts and monitoring checks can tell a
// broken path (1) from a mistyped command or an unreachable API (2).
import { CommanderError } from 'commander';
import { AgentConfigError } from '../agent/config.ts';
import { CredentialsError, UnreachableError } from '../client/reach.ts';
import { isExecError } from '../exec/errors.ts';
import { LabUsageError } from '../lab/topology.ts';
import { ServerConfigError } from '../config/server-config-error.ts';

export const EXIT_OK = 0;
/** the thing checked is broken (a trace's path, the demo's proof) or the operation failed */
export const EXIT_BROKEN = 1;
/** usage or environment: bad arguments or flags, a missing or bad config, unreachable API, refused credentials */
export const EXIT_USAGE = 2;
/** a trace could not decide */
export const EXIT_INCONCLUSIVE = 3;

export const EXIT_STATUS_HELP = `Exit status:
  0  success (a trace: the path is healthy)
  1  the thing checked is broken (a trace's path, the demo's proof) or the operation failed
  2  usage or environment error: unknown flag, missing argument, bad configuration,
     unreachable API, refused credentials
  3  inconclusive: a trace found no broken hop but could not check them all`;

/** True when the error is the caller's or the machine's (status 2), not the operation's. */
export function isUsageOrEnvironment(e: unknown): boolean {
  if (e instanceof CommanderError) return e.exitCode !== 0;
  if (e instanceof ServerConfigError || e instanceof AgentConfigError || e instanceof LabUsageError) return true;
  if (e instanceof UnreachableError || e instanceof CredentialsError) return true;
  // A tool the machine lacks (dropbearkey, nsenter, …).
  if (isExecError(e, 'no-command')) return true;
  // A system call the machine refused (listen: address in use; mkdir: not a directory; open: permission denied).
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** The one-line message and the exit status for an error that ended a command. */
export function failure(e: unknown): { message: string; status: number } {
  const err = e as NodeJS.ErrnoException;
  const message =
    err.syscall === 'listen' && err.code === 'EADDRINUSE' ? `address already in use: ${err.message}` : (err.message ?? String(e));
  return { message: message.split('\n')[0]!, status: isUsageOrEnvironment(e) ? EXIT_USAGE : EXIT_BROKEN };
}
