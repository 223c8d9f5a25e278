// An agent on a fake kernel attached to a test server: the agent's own loop (feed, host view,
// passes, reports) runs for real; only the node's kernel is the in-memory fake (or a subclass).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { Agent } from '../../src/agent/agent.ts';
import { parseAgentConfig } from '../../src/agent/config.ts';
import type { AgentMetrics } from '../../src/agent/metrics.ts';
import { NeutrinoClient } from '../../src/client/neutrino.ts';
import { FakeKernel } from '../../src/exec/fake.ts';
import { ADMIN_PASSWORD } from './server.ts';

export interface FakeNodeAgentOptions {
  serverUrl: string;
  host: string;
  /** the agent's state_path goes under it, in a directory named after the host */
  stateRoot: string;
  /** more lines for the [neutrino] section (resync_interval …) */
  neutrino?: string[];
  /** more sections, whole (e.g. '[agent]\nreport_interval = 1') */
  sections?: string[];
  kernel?: FakeKernel;
  log?: Logger;
  metrics?: AgentMetrics;
}

/** An admin agent of `host`, without VXLAN, on a fake kernel; not started. */
export function fakeNodeAgent(o: FakeNodeAgentOptions): Agent {
  const cfg = parseAgentConfig(
    [
      '[DEFAULT]',
      `host = ${o.host}`,
      `state_path = ${join(o.stateRoot, o.host)}`,
      '[neutrino]',
      `server_url = ${o.serverUrl}`,
      `password = ${ADMIN_PASSWORD}`,
      ...(o.neutrino ?? []),
      '[vxlan]',
      'enable_vxlan = false',
      ...(o.sections ?? []),
    ].join('\n'),
  );
  const client = new NeutrinoClient({ url: o.serverUrl }, { username: cfg.username, password: cfg.password, project: cfg.project });
  return new Agent(cfg, client, o.kernel ?? new FakeKernel(), o.log ?? pino({ level: 'silent' }), o.metrics);
}

/** A suite's end: the agent stopped and its run ended, then the server closed and the state root removed. */
export async function endAgentSuite(o: {
  agent?: Agent;
  running?: Promise<void>;
  server?: { close(): Promise<void> };
  dir: string;
}): Promise<void> {
  o.agent?.stop();
  await o.running;
  await o.server?.close();
  rmSync(o.dir, { recursive: true, force: true });
}
