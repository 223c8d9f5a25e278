// SIGTERM on a real `neutrino agent` process, run as the lab runs one: inside its own network
// namespace (a throw-away one, only `lo`), reaching a real server through its Unix socket. The agent
// gives up its long-poll, stops its link monitor and exits 0 well within graceful_shutdown_timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNetns, run } from '../../src/exec/run.ts';
import { BIN } from '../helpers/neutrino-cli.ts';
import { ADMIN_PASSWORD } from '../helpers/server.ts';
import { spawnServer } from '../helpers/signal-server.ts';
import { isRoot, removeAll, uniquePrefix } from './sandbox.ts';

const skip = !isRoot()
  ? 'needs root (network namespaces)'
  : !existsSync(new URL('../../dist/cli/index.js', import.meta.url))
    ? 'needs npm run build (dist/)'
    : false;

const GRACE_S = 5;

function childPids(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
    readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

const cmdline = (pid: number): string | null => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
};

test('SIGTERM: the agent stops its long-poll and link monitor and exits 0 within the bound', { skip }, async () => {
  const prefix = uniquePrefix();
  const ns = `${prefix}agent`;
  const server = await spawnServer();
  try {
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', 'link', 'set', 'lo', 'up'], { netns: ns });
    const ini = join(server.stateDir, 'agent.ini');
    writeFileSync(
      ini,
      [
        '[DEFAULT]',
        `host = ${ns}`,
        `state_path = ${join(server.stateDir, 'agent')}`,
        `graceful_shutdown_timeout = ${GRACE_S}`,
        '[neutrino]',
        `server_url = unix:${server.socket}`,
        `password = ${ADMIN_PASSWORD}`,
        'resync_interval = 30',
        '[vxlan]',
        'enable_vxlan = false',
        '',
      ].join('\n'),
    );
    const argv = inNetns([process.execPath, BIN, 'agent', '--config', ini], ns);
    const agent = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    agent.stdout!.on('data', (d) => (out += d));
    agent.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      agent.once('exit', (code) => resolve({ code, at: Date.now() })),
    );
    try {
      const until = Date.now() + 20_000;
      while (!out.includes('"initial sync"')) {
        assert.equal(agent.exitCode, null, `the agent exited at start-up: ${out}`);
        assert.ok(Date.now() < until, `no initial sync within 20 s: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // nsenter execs the agent: the PID is the agent's, its children include the link monitor.
      const monitor = childPids(agent.pid!).find((p) => cmdline(p)?.startsWith('ip -o monitor link'));
      assert.ok(monitor, `no link monitor among the agent's children: ${childPids(agent.pid!).map(cmdline).join('; ')}`);
      const t0 = Date.now();
      agent.kill('SIGTERM');
      const exit = await exited;
      assert.equal(exit.code, 0, out);
      assert.ok(exit.at - t0 < 2000, `exited ${exit.at - t0} ms after SIGTERM (the feed wait is 30 s)`);
      assert.notEqual(cmdline(monitor)?.startsWith('ip -o monitor link'), true, 'the link monitor outlived the agent');
      assert.match(out, /"neutrino agent stopped"/);
    } finally {
      if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    }
  } finally {
    await server.cleanup();
    await removeAll(prefix);
  }
});
