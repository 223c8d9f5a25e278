// The tests' warm `openstack` (test/helpers/openstack-bin/openstack handing calls to
// openstack-python/warm_openstack.py) answers exactly as /usr/bin/openstack does: the same stdout,
// stderr and exit status for a success, a client-side refusal and a server error, with the
// caller's environment (OS_CLOUD picks the user) and working directory; a call it is told to end
// by its caller's timeout ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliSuite, member } from '../helpers/cli-suite.ts';
import { cliEnv, OPENSTACK, TEST_OPENSTACK, withoutOsVariables } from '../helpers/openstack.ts';

const suite = cliSuite({ users: [member('warm')] });
const skip = suite.skip || (process.env['NEUTRINO_COLD_OPENSTACK'] === '1' ? 'NEUTRINO_COLD_OPENSTACK=1: every call runs cold' : false);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, timeout = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd, timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('warm and cold openstack answer alike', { skip, timeout: 300_000 }, async () => {
  const admin = suite.cli;
  await admin.json('admin', ['project', 'create', '--domain', 'default', 'warm']);
  await admin.json('admin', ['user', 'create', '--domain', 'default', '--project', 'warm', '--password', 'warm-pw', 'warm']);
  await admin.run('admin', ['role', 'add', '--project', 'warm', '--user', 'warm', 'member']);
  const net = await admin.json<{ id: string }>('admin', ['network', 'create', 'warm-net']);
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-warm-cwd-'));
  try {
    // clouds.yaml found in the working directory: the call must run where its caller stands.
    writeFileSync(join(dir, 'clouds.yaml'), readFileSync(admin.file, 'utf8'));
    const env = cliEnv(withoutOsVariables(process.env));
    env['HOME'] = dir;
    const calls: Array<{ cloud: string; args: string[] }> = [
      { cloud: 'admin', args: ['network', 'show', net.id, '-f', 'json'] },
      { cloud: 'admin', args: ['--version'] },
      { cloud: 'admin', args: ['port', 'create', '--help'] }, // the epilog: cliff's map of modules to distributions, filled once warm
      { cloud: 'warm', args: ['network', 'show', net.id] }, // another project's network: the server's 404
      { cloud: 'admin', args: ['network', 'create'] }, // argparse refuses: exit 2, usage on stderr
      { cloud: 'admin', args: ['network', 'list', '--name', 'warm-net', '-c', 'Name', '-f', 'value'] },
    ];
    for (const { cloud, args } of calls) {
      const e: NodeJS.ProcessEnv = { ...env, OS_CLOUD: cloud };
      const cold = await run(OPENSTACK, args, e, dir);
      const warm = await run(TEST_OPENSTACK, args, e, dir);
      assert.ok(e['NEUTRINO_WARM_OPENSTACK'], 'the test environment names a warm CLI');
      assert.deepEqual(warm, cold, `openstack ${args.join(' ')} as ${cloud}`);
    }
    const shown = await run(TEST_OPENSTACK, ['network', 'show', net.id, '-f', 'value', '-c', 'name'], { ...env, OS_CLOUD: 'admin' }, dir);
    assert.deepEqual(shown, { code: 0, stdout: 'warm-net\n', stderr: '' });
    const refused = await run(TEST_OPENSTACK, ['network', 'show', net.id], { ...env, OS_CLOUD: 'warm' }, dir);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /No Network found/);

    // The caller's timeout ends the call (the shim passes SIGTERM on to it): an identity endpoint
    // on this machine that accepts and never answers sees the call's connection closed.
    const held: Socket[] = [];
    const silent = createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    // Read (and drop) what it sends, so its end of the connection is seen.
    const closed = new Promise<void>((r) => silent.once('connection', (s) => s.resume().once('close', () => r())));
    try {
      const slow = await run(
        TEST_OPENSTACK,
        ['network', 'list', '--os-auth-url', `http://127.0.0.1:${port}/v3`],
        { ...env, OS_CLOUD: 'admin' },
        dir,
        3_000,
      );
      assert.notEqual(slow.code, 0);
      await closed;
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
