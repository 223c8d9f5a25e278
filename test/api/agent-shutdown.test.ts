// Agent.stop() (what SIGTERM/SIGINT call): the long-poll on the change feed is given up at once, a
// pass under way is finished rather than cut, no pass starts after it, and the link monitor process
// has exited when run() returns. A real server; the kernel is the in-memory fake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FakeKernel } from '../../src/exec/fake.ts';
import type { ObserveScope } from '../../src/kernel/scope.ts';
import type { Slice } from '../../src/kernel/slice.ts';
import type { ObservedNode } from '../../src/kernel/types.ts';
import { fakeNodeAgent } from '../helpers/fake-node-agent.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let dir: string;

before(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'neutrino-agent-stop-'));
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The kernel fake, with observe() slowed down on demand and its calls timed. */
class SlowKernel extends FakeKernel {
  delayMs = 0;
  observing = false;
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  override observe(scope: ObserveScope) {
    return this.timed(() => super.observe(scope));
  }
  // A pass caused by one change observes only its slice.
  override observeSlice(slice: Slice, scope: ObserveScope) {
    return this.timed(() => super.observeSlice(slice, scope));
  }
  private async timed(read: () => Promise<ObservedNode>): Promise<ObservedNode> {
    this.observing = true;
    this.starts.push(Date.now());
    await new Promise((r) => setTimeout(r, this.delayMs));
    const node = await read();
    this.ends.push(Date.now());
    this.observing = false;
    return node;
  }
}

function newAgent(host: string) {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const kernel = new SlowKernel();
  // A long resync wait: only a given-up long-poll lets run() end quickly.
  const agent = fakeNodeAgent({ serverUrl: server.url, host, stateRoot: dir, neutrino: ['resync_interval = 30'], kernel, log });
  return { agent, kernel, logged: (msg: string) => lines.some((l) => JSON.parse(l).msg === msg) };
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Command lines of this process's children (the agent's `ip monitor link` among them). */
function childCommands(): string[] {
  const out: string[] = [];
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    for (const pid of readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
      try {
        out.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim());
      } catch {
        /* already gone */
      }
    }
  }
  return out;
}
const monitors = () => childCommands().filter((c) => c.startsWith('ip -o monitor link'));

test('stop() while waiting on the change feed: run() ends at once, without another pass, and the link monitor has exited', async () => {
  const { agent, kernel, logged } = newAgent('stop-waiting');
  const running = agent.run();
  await waitFor('the initial sync', () => logged('initial sync'));
  assert.equal(monitors().length, 1, 'the agent runs its link monitor');
  const passes = kernel.starts.length;
  const t0 = Date.now();
  agent.stop();
  await running;
  const ms = Date.now() - t0;
  assert.ok(ms < 2000, `run() ended ${ms} ms after stop(), not at once (the feed wait is 30 s)`);
  assert.equal(kernel.starts.length, passes, 'a pass started after stop()');
  assert.deepEqual(monitors(), []);
});

test('stop() during a pass: the pass is finished, and no other starts', async (t) => {
  const { agent, kernel } = newAgent('stop-in-pass');
  // The first pass (the initial sync) reads the node slowly; stop while it observes.
  kernel.delayMs = 800;
  const running = agent.run();
  // A failed step must not leave the agent running (the file's process would never end).
  t.after(() => agent.stop());
  await waitFor('a pass under way', () => kernel.observing);
  const startsAtStop = kernel.starts.length;
  agent.stop();
  await running;
  const ended = Date.now();
  assert.equal(kernel.observing, false, 'run() ended in the middle of a pass');
  assert.ok(kernel.ends[kernel.ends.length - 1] <= ended);
  assert.equal(kernel.starts.length, startsAtStop, 'a pass started after stop()');
  assert.deepEqual(monitors(), []);
});
