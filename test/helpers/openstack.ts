// Runs Debian's real `openstack` CLI against a test server, one clouds.yaml entry per user.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Wire } from './client.js';

export const OPENSTACK = '/usr/bin/openstack';
export const haveOpenstack = () => existsSync(OPENSTACK);

/** The directory whose sitecustomize keeps osprofiler out of the CLI (see that file). */
const CLI_PYTHON_PATH = join(import.meta.dirname, 'openstack-python');

/** `base` (the test process's environment by default) for running the `openstack` CLI. */
export function cliEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, PYTHONPATH: base.PYTHONPATH ? `${CLI_PYTHON_PATH}:${base.PYTHONPATH}` : CLI_PYTHON_PATH };
}

export interface CloudUser {
  name: string;
  username: string;
  password: string;
  project: string;
}

export class CliError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`openstack ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
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
        OPENSTACK,
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
