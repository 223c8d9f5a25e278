// Node access for the tracer: parsing ACCESS, the argv each access builds (namespaces, ssh quoting), and file reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ExecError } from '../../src/exec/errors.ts';
import type { RunOptions, Runner } from '../../src/exec/run.ts';
import { accessArgv, formatAccess, nodeAccess, parseAccess, AccessError, SSH_PARALLEL } from '../../src/trace/read/access.ts';

test('parseAccess: local, netns:NAME, ssh:USER@ADDRESS (host, IPv4, IPv6)', () => {
  assert.deepEqual(parseAccess('local'), { kind: 'local' });
  assert.deepEqual(parseAccess('netns:x1-controller'), { kind: 'netns', name: 'x1-controller' });
  assert.deepEqual(parseAccess('ssh:root@compute1.example.org'), { kind: 'ssh', user: 'root', address: 'compute1.example.org' });
  assert.deepEqual(parseAccess('ssh:stack@192.168.0.105'), { kind: 'ssh', user: 'stack', address: '192.168.0.105' });
  assert.deepEqual(parseAccess('ssh:root@fd00::5'), { kind: 'ssh', user: 'root', address: 'fd00::5' });
  assert.deepEqual(parseAccess('ssh:root@[fd00::5]'), { kind: 'ssh', user: 'root', address: 'fd00::5' });
  for (const s of ['local', 'netns:x1-controller', 'ssh:root@192.168.0.105']) assert.equal(formatAccess(parseAccess(s)), s);
});

test('parseAccess: clear errors, and nothing that ssh or a shell could take for an option', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /expected 'local', 'netns:NAME' or 'ssh:USER@ADDRESS'/],
    ['remote', /access 'remote': expected/],
    ['netns:', /'' is not a namespace name/],
    ['netns:../etc', /not a namespace name/],
    ['netns:a b', /not a namespace name/],
    ['ssh:compute1', /needs a user name before '@'/],
    ['ssh:@compute1', /needs a user name/],
    ['ssh:-oProxyCommand=x@h', /needs a user name/],
    ['ssh:root@-oProxyCommand=touch', /is not a host name or address/],
    ['ssh:root@', /is not a host name or address/],
    ['ssh:root@host;reboot', /is not a host name or address/],
    ['ssh:root@a@b', /is not a host name or address/],
  ];
  for (const [text, re] of bad)
    assert.throws(
      () => parseAccess(text),
      (e: unknown) => e instanceof AccessError && re.test(e.message),
      text,
    );
});

test('local: the node is this machine; namespaces by nsenter --net, ip and bridge by -n', () => {
  const local = parseAccess('local');
  assert.deepEqual(accessArgv(local, ['iptables-save']), ['iptables-save']);
  assert.deepEqual(accessArgv(local, ['iptables-save'], 'qrouter-1'), ['nsenter', '--net=/run/netns/qrouter-1', '--', 'iptables-save']);
  assert.deepEqual(accessArgv(local, ['ip', '-j', 'link', 'show'], 'qrouter-1'), ['ip', '-n', 'qrouter-1', '-j', 'link', 'show']);
  assert.deepEqual(accessArgv(local, ['bridge', '-j', 'fdb', 'show'], 'qdhcp-2'), ['bridge', '-n', 'qdhcp-2', '-j', 'fdb', 'show']);
});

test("netns:NAME: the node's own namespace is NAME, its other namespaces are names in the same /run/netns", () => {
  const node = parseAccess('netns:x1-compute1');
  assert.deepEqual(accessArgv(node, ['iptables-save']), ['nsenter', '--net=/run/netns/x1-compute1', '--', 'iptables-save']);
  assert.deepEqual(accessArgv(node, ['ip', '-j', '-d', '-batch', '-']), ['ip', '-n', 'x1-compute1', '-j', '-d', '-batch', '-']);
  assert.deepEqual(accessArgv(node, ['conntrack', '-L'], 'qrouter-1'), ['nsenter', '--net=/run/netns/qrouter-1', '--', 'conntrack', '-L']);
  assert.deepEqual(accessArgv(node, ['ip', 'route'], 'qrouter-1'), ['ip', '-n', 'qrouter-1', 'route']);
  assert.throws(() => accessArgv(node, ['ip', 'route'], 'bad name'), /invalid namespace name/);
});

test("netns:NAME@PID: a node whose /run/netns is a process's own, entered through that process's mount namespace", () => {
  const node = parseAccess('netns:x1-network2@4242');
  assert.deepEqual(node, { kind: 'netns', name: 'x1-network2', mountOf: 4242 });
  assert.equal(formatAccess(node), 'netns:x1-network2@4242');
  // The node's own namespace is the process's (its name is not in that /run/netns).
  assert.deepEqual(accessArgv(node, ['iptables-save']), [
    'nsenter',
    '--mount=/proc/4242/ns/mnt',
    '--net=/proc/4242/ns/net',
    '--',
    'iptables-save',
  ]);
  assert.deepEqual(accessArgv(node, ['ip', 'route'], 'qrouter-1'), [
    'nsenter',
    '--mount=/proc/4242/ns/mnt',
    '--',
    'ip',
    '-n',
    'qrouter-1',
    'route',
  ]);
  for (const bad of ['netns:x1@', 'netns:x1@0', 'netns:x1@12a', 'netns:x1@1@2', 'netns:@12'])
    assert.throws(() => parseAccess(bad), AccessError, bad);
});

test('ssh: batch mode, a connect timeout, and one remote command line with every word quoted', () => {
  const ssh = parseAccess('ssh:root@192.168.0.105');
  const prefix = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', 'root@192.168.0.105', '--'];
  assert.deepEqual(accessArgv(ssh, ['iptables-save']), [...prefix, 'iptables-save']);
  assert.deepEqual(accessArgv(ssh, ['iptables-save'], 'qrouter-1'), [...prefix, 'nsenter --net=/run/netns/qrouter-1 -- iptables-save']);
  assert.deepEqual(accessArgv(ssh, ['ip', '-j', 'addr'], 'qrouter-1'), [...prefix, 'ip -n qrouter-1 -j addr']);
  assert.deepEqual(accessArgv(ssh, ['cat', '--', "/etc/neutron/it's here; rm -rf /"]), [
    ...prefix,
    `cat -- '/etc/neutron/it'\\''s here; rm -rf /'`,
  ]);
  assert.deepEqual(accessArgv(ssh, ['echo', '', '$HOME', '`id`', 'a*', 'x\ny']), [...prefix, `echo '' '$HOME' '\`id\`' 'a*' 'x\ny'`]);
  assert.deepEqual(accessArgv(parseAccess('ssh:root@[fd00::5]'), ['true']).slice(5, 6), ['root@fd00::5']);
});

test('ssh quoting survives a real POSIX shell word for word', () => {
  const words = ['printf', '%s|', "it's", '$HOME', '`id`', 'a b', '*', '', '"q"', 'x\ny', '\\', ';', '&&', '~'];
  const remote = accessArgv(parseAccess('ssh:root@h'), words).at(-1)!;
  const out = spawnSync('sh', ['-c', remote], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(
    out.stdout,
    words
      .slice(2)
      .map((w) => `${w}|`)
      .join(''),
  );
});

/** Records what would run on this machine (the access layer's own output is what is under test). */
function recorder(reply: (argv: readonly string[]) => string | Error = () => '') {
  const calls: Array<{ argv: string[]; opts: RunOptions | undefined }> = [];
  const exec: Runner = async (argv, opts) => {
    calls.push({ argv: [...argv], opts });
    const r = reply(argv);
    if (r instanceof Error) throw r;
    return { stdout: r, stderr: '' };
  };
  return { calls, exec };
}

test('nodeAccess: the runner enters the namespace once, passes stdin on, and labels the dump', async () => {
  const { calls, exec } = recorder();
  const a = nodeAccess(parseAccess('netns:x1-controller'), { exec });
  assert.equal(a.label, 'netns:x1-controller');
  await a.run(['ip', '-batch', '-'], { stdin: 'link show\n' });
  await a.run(['iptables-save'], { netns: 'qrouter-1' });
  assert.deepEqual(calls, [
    { argv: ['ip', '-n', 'x1-controller', '-batch', '-'], opts: { stdin: 'link show\n', netns: undefined } },
    { argv: ['nsenter', '--net=/run/netns/qrouter-1', '--', 'iptables-save'], opts: { netns: undefined } },
  ]);
  await assert.rejects(a.run(['ip', 'link'], { netns: '../x' }), /invalid namespace name/);
});

test('readFile: local and netns read this file system (null when absent); ssh runs cat (null on "No such file")', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-access-'));
  try {
    writeFileSync(join(dir, 'agent.ini'), '[vxlan]\nlocal_ip = 192.168.0.105\n');
    for (const spec of ['local', 'netns:x1-compute1']) {
      const a = nodeAccess(parseAccess(spec));
      assert.equal(await a.readFile(join(dir, 'agent.ini')), '[vxlan]\nlocal_ip = 192.168.0.105\n');
      assert.equal(await a.readFile(join(dir, 'absent.ini')), null);
      await assert.rejects(a.readFile(dir), /EISDIR/);
    }
    const { calls, exec } = recorder((argv) => {
      const path = argv.at(-1)!;
      if (path.includes('absent')) return new ExecError('not-found', argv, 1, `cat: ${path}: No such file or directory\n`);
      if (path.includes('secret')) return new ExecError('permission', argv, 1, `cat: ${path}: Permission denied\n`);
      return 'xml';
    });
    const ssh = nodeAccess(parseAccess('ssh:root@compute1'), { exec, sshOptions: ['-F', '/tmp/ssh config'] });
    assert.equal(await ssh.readFile('/var/lib/nova/instances/i 1/libvirt.xml'), 'xml');
    assert.deepEqual(calls[0]!.argv, [
      'ssh',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      '-F',
      '/tmp/ssh config',
      'root@compute1',
      '--',
      "cat -- '/var/lib/nova/instances/i 1/libvirt.xml'",
    ]);
    assert.equal(await ssh.readFile('/absent'), null);
    await assert.rejects(ssh.readFile('/secret'), /Permission denied/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ssh opens at most SSH_PARALLEL connections to a node at once (servers drop unauthenticated ones beyond a few); local does not wait', async () => {
  const peak = async (spec: string) => {
    let active = 0;
    let max = 0;
    const exec: Runner = async () => {
      max = Math.max(max, ++active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return { stdout: '', stderr: '' };
    };
    const a = nodeAccess(parseAccess(spec), { exec });
    await Promise.all(Array.from({ length: 12 }, () => a.run(['true'])));
    return max;
  };
  assert.equal(await peak('ssh:root@compute1'), SSH_PARALLEL);
  assert.equal(await peak('netns:x1-compute1'), 12);
});
