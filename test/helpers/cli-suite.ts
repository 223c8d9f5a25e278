// A test file's server and `openstack` CLI users: the server starts before the file's tests and is
// closed after them, with the clouds.yaml; `admin` is always one of the users.
import { after, before } from 'node:test';
import type { ServerConfig } from '../../src/server-config.ts';
import { haveOpenstack, openstackCli, type CloudUser } from './openstack.ts';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './server.ts';

export const NO_OPENSTACK = 'Debian python3-openstackclient is not installed (scripts/install-deps.sh installs it)';

/** Project members the CLI logs in as, besides admin (their projects are made by the test). */
export const member = (name: string): CloudUser => ({ name, username: name, password: `${name}-pw`, project: name });

export function cliSuite(options: { users?: CloudUser[]; config?: Partial<ServerConfig> } = {}) {
  let server: TestServer | undefined;
  let runner: ReturnType<typeof openstackCli> | undefined;
  before(async () => {
    server = await startTestServer(options.config);
    runner = openstackCli(server.url, [
      { name: 'admin', username: 'admin', password: ADMIN_PASSWORD, project: 'admin' },
      ...(options.users ?? []),
    ]);
  });
  after(async () => {
    runner?.cleanup();
    await server?.close();
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the suite has not started: use it inside a test or hook');
    return v;
  };
  return {
    /** The tests' skip reason when the CLI is missing (false when present). */
    skip: haveOpenstack() ? (false as const) : NO_OPENSTACK,
    get srv(): TestServer {
      return started(server);
    },
    get cli(): ReturnType<typeof openstackCli> {
      return started(runner);
    },
  };
}
