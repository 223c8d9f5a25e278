// A server of a test's own for the agent-side tests (agents are server-wide): an admin client, a
// member `demo`, agent reports, host views, and direct agent-row changes (agents have no update API).
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from './server.ts';
import { adminToken, api, memberProject } from './client.ts';

export async function agentServer(t: TestContext) {
  const srv = await startTestServer();
  t.after(() => srv.close());
  const token = await adminToken(srv.url);
  const admin = api(srv.url, token);
  const demo = api(srv.url, (await memberProject(srv.url, token, 'demo')).token);
  /** Registers (start_flag) an agent; returns it as GET /agents shows it. */
  const report = async (agent_type: string, host: string, availability_zone?: string) => {
    const r = await admin.post('/neutrino/agents/report', {
      agent: { agent_type, host, configurations: {}, start_flag: true, availability_zone },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.agent as { id: string; availability_zone: string | null };
  };
  const view = async (host: string) => (await admin.get(`/neutrino/hosts/${host}/view`)).body.view;
  /** Disables an agent or makes it look dead, in the store. */
  const setAgent = (id: string, values: { admin_state_up?: number; heartbeat_timestamp?: string }) =>
    srv.db.updateTable('agents').set(values).where('id', '=', id).execute();
  return { admin, demo, report, view, setAgent };
}
