// Runs Debian's real `openstack` CLI against a test server, one clouds.yaml entry per user.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Wire } from './client.ts';

export const OPENSTACK = '/usr/bin/openstack';
export const haveOpenstack = () => existsSync(OPENSTACK);

/** The directory whose sitecustomize keeps osprofiler out of the CLI (see that file). */
const CLI_PYTHON_PATH = join(import.meta.dirname, 'openstack-python');
/** The directory whose `openstack` hands calls to this process's warm CLI (see that file). */
const CLI_BIN = join(import.meta.dirname, 'openstack-bin');
/** `openstack` as the tests run it: through the warm CLI when there is one, else /usr/bin/openstack. */
export const TEST_OPENSTACK = join(CLI_BIN, 'openstack');

let warmSocket: string | undefined;

/**
 * Starts this test process's warm CLI once (openstack-python/warm_openstack.py: the installed
 * openstackclient imported once, each call's `main(argv)` in a process forked from it) and returns
 * its socket. It ends when this process does: its stdin is a pipe from here, and it is ended by PID
 * at exit.
 */
function warmOpenstack(): string {
  if (warmSocket) return warmSocket;
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-warm-osc-'));
  const socket = join(dir, 'cli.sock');
  const child = spawn('/usr/bin/python3', [join(CLI_PYTHON_PATH, 'warm_openstack.py'), socket], {
    // Each call brings its own environment; the imports see none of the caller's OS_* settings.
    env: pythonEnv(withoutOsVariables(process.env)),
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  warmSocket = socket;
  return socket;
}

/** `env` without its OS_* variables: only the clouds.yaml a test names speaks for the CLI. */
export function withoutOsVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('OS_')));
}

function pythonEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, PYTHONPATH: base.PYTHONPATH ? `${CLI_PYTHON_PATH}:${base.PYTHONPATH}` : CLI_PYTHON_PATH };
}

/**
 * `base` (the test process's environment by default) for running the `openstack` CLI: `openstack`
 * on its PATH is TEST_OPENSTACK, bound to this process's warm CLI (NEUTRINO_COLD_OPENSTACK=1 in the
 * test's environment runs /usr/bin/openstack for every call instead).
 */
export function cliEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = pythonEnv(base);
  env['PATH'] = `${CLI_BIN}:${base['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`;
  if (haveOpenstack() && process.env['NEUTRINO_COLD_OPENSTACK'] !== '1') env['NEUTRINO_WARM_OPENSTACK'] = warmOpenstack();
  return env;
}

export interface CloudUser {
  name: string;
  username: string;
  password: string;
  project: string;
}

export class CliError extends Error {
  readonly args: string[];
  readonly code: number;
  readonly stderr: string;

  constructor(args: string[], code: number, stderr: string) {
    super(`openstack ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
    this.args = args;
    this.code = code;
    this.stderr = stderr;
  }
}

/**
 * Writes a clouds.yaml for the given users and returns a runner bound to it; they log in at the
 * server's built-in identity, or at `authUrl` (a Keystone whose catalog names the network endpoint).
 */
export function openstackCli(baseUrl: string, users: CloudUser[], authUrl = `${baseUrl}/identity/v3`) {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-clouds-'));
  const file = join(dir, 'clouds.yaml');
  const entries = users
    .map(
      (u) => `  ${u.name}:
    auth:
      auth_url: ${authUrl}
      username: ${u.username}
      password: ${u.password}
      project_name: ${u.project}
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
`,
    )
    .join('');
  writeFileSync(file, `clouds:\n${entries}`);

  /** Runs `openstack ARGS` as CLOUD; resolves stdout, rejects with CliError on a non-zero exit. */
  function run(cloud: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        TEST_OPENSTACK,
        args,
        { env: { ...cliEnv(), OS_CLIENT_CONFIG_FILE: file, OS_CLOUD: cloud }, timeout: 60_000 },
        (err, stdout, stderr) => {
          if (err) reject(new CliError(args, typeof err.code === 'number' ? err.code : -1, stderr || err.message));
          else resolve(stdout);
        },
      );
    });
  }

  return {
    file,
    run,
    /** Removes the clouds.yaml and its directory. */
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    /** Runs with `-f json` and parses the output. */
    json: async <T = Wire>(cloud: string, args: string[]): Promise<T> => JSON.parse(await run(cloud, [...args, '-f', 'json'])) as T,
  };
}
