// Root tests of the tracer's collector against the real kernel: a node namespace with a bridge and a
// veth into a second namespace, read through `netns:NODE` and through real ssh (dropbear in the node),
// giving raw text that parses with the agent's own parsers; absent namespaces come back null.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RealKernel } from '../../src/exec/real.ts';
import { run, type Runner } from '../../src/exec/run.ts';
import { HOST, type ObservedNode } from '../../src/kernel/types.ts';
import { parseNamespace, resolvePeers } from '../../src/observe/node.ts';
import { nodeAccess, parseAccess } from '../../src/trace/read/access.ts';
import { collectNode, type CollectRequest } from '../../src/trace/read/collect.ts';
import { loadSnapshot, saveSnapshot } from '../../src/trace/read/snapshot-io.ts';
import type { NodeDump } from '../../src/trace/snapshot.ts';
import { isRoot, removeAll, uniquePrefix } from './sandbox.ts';

const prefix = uniquePrefix();
const node = `${prefix}node`;
const ns2 = `${prefix}ns2`;
const absent = `${prefix}absent`;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Parses a dump as the engine will: the agent's parsers, veth peers resolved with the node's own namespace as HOST. */
function parsed(dump: NodeDump, hostNetns?: string): ObservedNode {
  const out: ObservedNode = { namespaces: {} };
  const nsids = new Map<string, Map<number, string>>();
  for (const [ns, raw] of Object.entries(dump.namespaces)) {
    if (!raw) continue;
    const p = parseNamespace(ns, raw);
    out.namespaces[ns] = p.state;
    nsids.set(ns, p.nsids);
  }
  resolvePeers(out, nsids, hostNetns);
  return out;
}

describe('trace collector against the real kernel', { skip: isRoot() ? false : 'needs root (namespaces)' }, () => {
  let dir = '';
  let request: CollectRequest;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'neutrino-collect-'));
    writeFileSync(join(dir, 'linuxbridge_agent.ini'), '[DEFAULT]\nhost = compute1\n[vxlan]\nlocal_ip = 10.0.0.1\n');
    mkdirSync(join(dir, 'instances', 'i1'), { recursive: true });
    writeFileSync(join(dir, 'instances', 'i1', 'libvirt.xml'), "<domain type='kvm'><name>instance-00000001</name></domain>\n");
    await run(['ip', 'netns', 'add', node]);
    await run(['ip', 'netns', 'add', ns2]);
    await run(['ip', '-batch', '-'], {
      netns: node,
      stdin: [
        'link set lo up',
        'link add br-t0 type bridge',
        `link add veth-a type veth peer name veth-b netns ${ns2}`,
        'link set veth-a master br-t0',
        'link set veth-a up',
        'link set br-t0 up',
        'addr add 10.0.0.1/24 dev br-t0',
        '',
      ].join('\n'),
    });
    await run(['ip', '-batch', '-'], { netns: ns2, stdin: 'link set lo up\naddr add 10.0.0.2/24 dev veth-b\nlink set veth-b up\n' });
    // A conntrack rule makes ns2 track its flows; a ping leaves an entry to find.
    await run(['iptables', '-A', 'OUTPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT'], { netns: ns2 });
    await run(['ping', '-c', '1', '-W', '2', '10.0.0.1'], { netns: ns2 });
    // An IP set like the ones security groups with remote groups use (Neutron's NIPv4<sg[:25]>).
    if (has('ipset')) await run(['ipset', 'create', 'NIPv4test', 'hash:net', 'family', 'inet'], { netns: node });
    if (has('ipset')) await run(['ipset', 'add', 'NIPv4test', '10.0.0.2'], { netns: node });
    request = {
      host: 'compute1',
      namespaces: [ns2, absent],
      sysctls: { [HOST]: ['net.ipv4.ip_forward'], [ns2]: ['net.ipv4.conf.all.forwarding', 'net.ipv4.no_such_key'] },
      conntrack: [ns2, absent],
      ...(has('ipset') ? { ipsets: [HOST] } : {}),
      agentConfigPath: join(dir, 'linuxbridge_agent.ini'),
      instances: { i1: join(dir, 'instances', 'i1', 'libvirt.xml'), i2: join(dir, 'instances', 'i2', 'libvirt.xml') },
    };
  });

  after(async () => {
    await removeAll(prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** What both accesses must find: the same node, read the same way. */
  function assertDump(dump: NodeDump, access: string) {
    assert.deepEqual(dump.errors, []);
    assert.equal(dump.host, 'compute1');
    assert.equal(dump.access, access);
    assert.ok(!Number.isNaN(Date.parse(dump.collectedAt)));
    assert.deepEqual(Object.keys(dump.namespaces), [HOST, ns2, absent]);
    assert.equal(dump.namespaces[absent], null);

    const obs = parsed(dump, node);
    const host = obs.namespaces[HOST]!;
    const link = (ns: string, name: string) => obs.namespaces[ns]!.links.find((l) => l.name === name);
    assert.equal(link(HOST, 'br-t0')?.kind, 'bridge');
    assert.equal(link(HOST, 'veth-a')?.master, 'br-t0');
    assert.deepEqual(link(HOST, 'veth-a')?.peer && { netns: link(HOST, 'veth-a')!.peer!.netns, name: link(HOST, 'veth-a')!.peer!.name }, {
      netns: ns2,
      name: 'veth-b',
    });
    assert.deepEqual(link(ns2, 'veth-b')?.peer && { netns: link(ns2, 'veth-b')!.peer!.netns, name: link(ns2, 'veth-b')!.peer!.name }, {
      netns: HOST,
      name: 'veth-a',
    });
    assert.ok(
      host.addresses.some((a) => a.dev === 'br-t0' && a.address === '10.0.0.1/24'),
      JSON.stringify(host.addresses),
    );
    assert.ok(obs.namespaces[ns2]!.addresses.some((a) => a.dev === 'veth-b' && a.address === '10.0.0.2/24'));
    assert.ok(
      obs.namespaces[ns2]!.routes.some((r) => r.dst === '10.0.0.0/24' && r.dev === 'veth-b'),
      JSON.stringify(obs.namespaces[ns2]!.routes),
    );
    assert.deepEqual(Object.keys(host.sysctls), ['net.ipv4.ip_forward']);
    assert.deepEqual(Object.keys(obs.namespaces[ns2]!.sysctls), ['net.ipv4.conf.all.forwarding']);
    assert.match(dump.namespaces[ns2]!.iptablesSave, /-A OUTPUT -m conntrack --ctstate NEW -j ACCEPT/);
    if (has('ipset')) {
      assert.match(dump.namespaces[HOST]!.ipset ?? '', /^add NIPv4test 10\.0\.0\.2$/m);
      assert.deepEqual(dump.commands![HOST]!['ipset'], { argv: ['ipset', 'save'] });
      assert.equal(dump.namespaces[ns2]!.ipset, undefined);
    }

    assert.deepEqual(Object.keys(dump.conntrack), [ns2]);
    assert.match(dump.conntrack[ns2]!, /^icmp .*src=10\.0\.0\.2 dst=10\.0\.0\.1 type=8/m);
    assert.equal(dump.agentConfig.path, request.agentConfigPath);
    assert.match(dump.agentConfig.text ?? '', /local_ip = 10\.0\.0\.1/);
    assert.deepEqual(dump.instances, {
      i1: { path: request.instances!['i1'], xml: "<domain type='kvm'><name>instance-00000001</name></domain>\n" },
      i2: { path: request.instances!['i2'], xml: null },
    });

    // Each output names the command behind it, as run inside the node.
    const cmds = dump.commands!;
    assert.deepEqual(Object.keys(cmds), [HOST, ns2]);
    assert.deepEqual(cmds[HOST]!['netns'], { argv: ['ip', '-j', 'netns', 'list'] });
    // The agent's commands, ip6tables-save included (the tracer reads what the agent reads).
    assert.deepEqual(Object.keys(cmds[ns2]!), ['ip', 'route6', 'fdb', 'iptablesSave', 'ip6tablesSave', 'sysctl', 'conntrack']);
    assert.deepEqual(cmds[ns2]!['ip6tablesSave'], { argv: ['ip6tables-save'] });
    assert.equal(typeof dump.namespaces[ns2]!.ip6tablesSave, 'string');
    assert.deepEqual(cmds[ns2]!['ip'], {
      argv: ['ip', '-j', '-d', '-batch', '-'],
      stdin: 'link show\naddr show\nneigh show\nnetns list-id\nroute show table main\n',
    });
    assert.deepEqual(cmds[ns2]!['sysctl'], { argv: ['sysctl', '-e', 'net.ipv4.conf.all.forwarding', 'net.ipv4.no_such_key'] });
    assert.deepEqual(cmds[ns2]!['conntrack'], { argv: ['conntrack', '-L'] });
    return obs;
  }

  test('netns:NODE reads the node, the namespace asked for, and null for one that does not exist', async () => {
    const dump = await collectNode(nodeAccess(parseAccess(`netns:${node}`)), request);
    const obs = assertDump(dump, `netns:${node}`);

    // The same reading as the agent's: RealKernel sees the node's links exactly so.
    const agent = await new RealKernel({ hostNetns: node }).observe({
      host: true,
      namespaces: [ns2],
      prefixes: [],
      sysctls: {},
      processes: {},
    });
    const shape = (o: ObservedNode, ns: string) =>
      o.namespaces[ns]!.links.map((l) => [l.name, l.kind, l.master, l.peer?.netns, l.peer?.name]);
    assert.deepEqual(shape(obs, HOST), shape(agent, HOST));
    assert.deepEqual(shape(obs, ns2), shape(agent, ns2));

    // A real dump survives a snapshot round trip.
    const snapDir = join(dir, 'snapshot');
    const snap = {
      version: 1 as const,
      createdAt: dump.collectedAt,
      source: { endpoint: 'http://127.0.0.1:9' },
      api: emptyApi(),
      nodes: { compute1: dump },
    };
    await saveSnapshot(snapDir, snap);
    assert.deepEqual(await loadSnapshot(snapDir), snap);
  });

  test('an unreachable node is one error, not a failure; a node without conntrack says so and the rest is read', async () => {
    const gone = await collectNode(nodeAccess(parseAccess(`netns:${prefix}gone`)), request);
    assert.deepEqual(gone.namespaces, {});
    assert.equal(gone.errors.length, 1);
    assert.match(gone.errors[0]!, new RegExp(`^cannot run commands on compute1 \\(netns:${prefix}gone\\): Cannot open network namespace`));
    assert.match(gone.agentConfig.text ?? '', /local_ip/);

    // The node's tools as found on a host without conntrack-tools installed.
    const noConntrack: Runner = (argv, opts) =>
      run(
        argv.map((a) => (a === 'conntrack' ? 'neutrino-no-conntrack' : a)),
        opts,
      );
    const dump = await collectNode(nodeAccess(parseAccess(`netns:${node}`), { exec: noConntrack }), request);
    assert.deepEqual(dump.conntrack, {});
    assert.equal(dump.errors.length, 1);
    assert.match(
      dump.errors[0]!,
      new RegExp(
        `^cannot read conntrack -L in namespace ${ns2}: nsenter: failed to execute neutrino-no-conntrack: No such file or directory`,
      ),
    );
    assert.ok(dump.namespaces[ns2]);
  });

  describe('over ssh', { skip: has('ssh') && has('ssh-keygen') && has('dropbear') ? false : 'needs ssh, ssh-keygen and dropbear' }, () => {
    let sshd: ChildProcess | undefined;
    let sshConfig = '';
    /** The ssh client runs in ns2, which reaches the node's bridge address. */
    const fromNs2: Runner = (argv, opts) => run(argv, { ...opts, netns: ns2 });

    before(async () => {
      const home = join(dir, 'root');
      mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
      const key = join(dir, 'id_ed25519');
      await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
      writeFileSync(join(home, '.ssh', 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 });
      await run(['dropbearkey', '-t', 'ed25519', '-f', join(dir, 'host_key')]);
      sshConfig = join(dir, 'ssh_config');
      writeFileSync(
        sshConfig,
        `Host *\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n`,
      );
      // dropbear in the node's namespace, with this test's home over /root in a private mount namespace (the lab demo's wrapper).
      const wrapper = fileURLToPath(new URL('../../src/lab/demo-sshd.ts', import.meta.url));
      const log = openSync(join(dir, 'sshd.log'), 'a');
      sshd = spawn(
        'nsenter',
        [
          `--net=/run/netns/${node}`,
          '--',
          'unshare',
          '--mount',
          '--propagation',
          'private',
          '--',
          process.execPath,
          wrapper,
          home,
          'dropbear',
          '-F',
          '-E',
          '-p',
          '10.0.0.1:22',
          '-r',
          join(dir, 'host_key'),
          '-P',
          join(dir, 'dropbear.pid'),
        ],
        { stdio: ['ignore', log, log] },
      );
      const access = nodeAccess(parseAccess('ssh:root@10.0.0.1'), { exec: fromNs2, sshOptions: ['-F', sshConfig] });
      for (let i = 0; i < 50; i++) {
        if (
          await access.run(['true']).then(
            () => true,
            () => false,
          )
        )
          return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`dropbear did not answer on 10.0.0.1:22: ${readFileSync(join(dir, 'sshd.log'), 'utf8')}`);
    });

    after(async () => {
      if (!sshd || sshd.exitCode !== null) return;
      const exited = new Promise((r) => sshd!.once('exit', r));
      sshd.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (sshd.exitCode === null) sshd.kill('SIGKILL');
    });

    test('ssh:root@ADDRESS reads the same node: namespaces entered on the remote side, stdin carried, files by cat', async () => {
      const access = nodeAccess(parseAccess('ssh:root@10.0.0.1'), { exec: fromNs2, sshOptions: ['-F', sshConfig] });
      const dump = await collectNode(access, request);
      assertDump(dump, 'ssh:root@10.0.0.1');
      // A path the remote shell would otherwise split or expand arrives as one word.
      const odd = join(dir, "it's a $file");
      writeFileSync(odd, 'x\n');
      assert.equal(await access.readFile(odd), 'x\n');
    });
  });
});

const emptyApi = () => ({
  networks: [],
  subnets: [],
  ports: [],
  routers: [],
  floatingips: [],
  security_groups: [],
  agents: [],
  router_hosts: {},
  dhcp_hosts: {},
});
