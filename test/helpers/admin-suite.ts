// A test file's server and its admin: the server starts before the file's tests and is closed after.
import { after, before } from 'node:test';
import { adminToken, api, type Api } from './client.ts';
import { startTestServer, type TestServer } from './server.ts';

export function adminSuite() {
  let started: { srv: TestServer; adminTok: string; admin: Api } | undefined;
  before(async () => {
    const srv = await startTestServer();
    const adminTok = await adminToken(srv.url);
    started = { srv, adminTok, admin: api(srv.url, adminTok) };
  });
  after(() => started?.srv.close());
  const get = () => {
    if (!started) throw new Error('the suite has not started: use it inside a test or hook');
    return started;
  };
  return {
    get srv(): TestServer {
      return get().srv;
    },
    get adminTok(): string {
      return get().adminTok;
    },
    get admin(): Api {
      return get().admin;
    },
  };
}
