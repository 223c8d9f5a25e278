// Runs a command with a real PostgreSQL cluster beside it: `node
// test/helpers/with-postgres.ts <command> [args…]` starts the cluster, exports its URL as
// NEUTRINO_TEST_POSTGRES (the test servers then keep their state in PostgreSQL, one fresh database
// each), runs the command, stops the cluster, and exits with the command's status.
import { spawn } from 'node:child_process';
import { startPostgres } from './postgres.ts';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: with-postgres.ts COMMAND [ARG…]');
  process.exit(2);
}
const cluster = await startPostgres();
console.error(`with-postgres: PostgreSQL at ${cluster.url}`);
const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, NEUTRINO_TEST_POSTGRES: cluster.url } });
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on('SIGINT', forward).on('SIGTERM', forward);
const status: number = await new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
await cluster.stop();
process.exit(status);
