// The one exec seam (src/exec/run.ts) outside any namespace: how each way of running a command
// reports success, failure, a signal, a timeout and a command that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isExecError } from '../../src/exec/errors.ts';
import { inNetns, run, runInherit, runStatus, spawnDetached } from '../../src/exec/run.ts';

const MISSING = 'neutrino-test-no-such-command';

test('run resolves output on exit 0 and rejects an ExecError with the exit code otherwise', async () => {
  assert.deepEqual(await run(['sh', '-c', 'echo out; echo err >&2']), { stdout: 'out\n', stderr: 'err\n' });
  await assert.rejects(run(['sh', '-c', 'echo "No such device" >&2; exit 2']), (e) => isExecError(e, 'not-found') && e.exitCode === 2);
  await assert.rejects(run(['sleep', '5'], { timeoutMs: 50 }), (e) => isExecError(e, 'timeout'));
});

test('runStatus resolves every exit status, with 128 + the signal number when a signal ended the command', async () => {
  assert.deepEqual(await runStatus(['sh', '-c', 'echo out; echo err >&2; exit 3']), { code: 3, stdout: 'out\n', stderr: 'err\n' });
  assert.equal((await runStatus(['sh', '-c', 'kill -TERM $$'])).code, 143);
  assert.equal((await runStatus(['sleep', '5'], { timeoutMs: 50 })).code, 137);
  assert.equal((await runStatus(['cat'], { stdin: 'in' })).stdout, 'in');
});

test('a command that does not exist is an ExecError of kind no-command, however it is run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-exec-'));
  try {
    for (const attempt of [
      run([MISSING]),
      runStatus([MISSING]),
      runInherit([MISSING]),
      spawnDetached([MISSING], { log: join(dir, 'log') }),
    ]) {
      await assert.rejects(attempt, (e) => isExecError(e, 'no-command') && e.argv[0] === MISSING);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runInherit resolves the exit status of a command attached to our stdio', async () => {
  assert.equal(await runInherit(['sh', '-c', 'exit 4']), 4);
  assert.equal(await runInherit(['true']), 0);
});

test('spawnDetached starts a process in its own process group, logging to the file, and returns its PID', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-exec-'));
  const log = join(dir, 'log');
  let pid = 0;
  try {
    pid = await spawnDetached([process.execPath, '-e', 'console.log("started"); setTimeout(() => {}, 10_000)'], { log });
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    assert.equal(pgid, pid);
    const until = Date.now() + 5_000;
    while (!readFileSync(log, 'utf8').includes('started') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(readFileSync(log, 'utf8'), 'started\n');
  } finally {
    if (pid) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test("inNetns enters a namespace with the tool's own switch or nsenter, and only with a valid name", () => {
  assert.deepEqual(inNetns(['ip', 'link'], 'qdhcp-x'), ['ip', '-n', 'qdhcp-x', 'link']);
  assert.deepEqual(inNetns(['udhcpc', '-i', 'eth0'], 'lab-i-a'), ['nsenter', '--net=/run/netns/lab-i-a', '--', 'udhcpc', '-i', 'eth0']);
  assert.deepEqual(inNetns(['ip', 'link'], undefined), ['ip', 'link']);
  assert.throws(() => inNetns(['ip', 'link'], '../etc'));
});
