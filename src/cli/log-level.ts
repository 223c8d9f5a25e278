// The --log-level option of the long-running commands (server, agent): pino's levels.
import { Option } from 'commander';

export const logLevelOption = () =>
  new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info');
