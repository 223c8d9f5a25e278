// The lab's pure command builders: namespaces and cables, agent and DHCP client command lines,
// instance wiring and names, process identification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labTopology } from '../../src/lab/topology.ts';
import { wiringCommands, unwiringCommands } from '../../src/lab/wiring.ts';
import { agentArgv, nodeAgentConfig } from '../../src/lab/agents.ts';
import { labPaths, NEUTRINO_BIN } from '../../src/lab/paths.ts';
import { newLabState } from '../../src/lab/state.ts';
import { dhcpClientArgv, instanceNamespace, instanceWiring } from '../../src/lab/instance-state.ts';
import { bridgeName, tapName } from '../../src/kernel/names.ts';
import { cmdlineMatches, hasEnded } from '../../src/lab/procs.ts';
import { dhcpHookEnv } from '../../src/lab/instance.ts';
import { inNetns } from '../../src/exec/run.ts';
import { parseAgentConfig, renderAgentConfig } from '../../src/agent/config.ts';

const t = labTopology('lt', ['controller', 'compute1']);

test('wiring: namespaces with lo up, the switch bridges, then veths created directly in their namespaces', () => {
  const cmds = wiringCommands(t).map((c) => c.join(' '));
  assert.deepEqual(cmds.slice(0, 2), ['ip netns add lt-controller', 'ip -n lt-controller link set lo up']);
  assert.ok(cmds.includes('ip -n lt-mgmt link add br-mgmt type bridge'));
  assert.ok(cmds.includes('ip link add eth1 netns lt-controller type veth peer name p0 netns lt-mgmt'));
  assert.ok(cmds.includes('ip link add eth0 netns lt-compute1 type veth peer name p1 netns lt-mgmt'));
  // The provider switch: every node's provider NIC and the upstream host.
  assert.ok(cmds.includes('ip -n lt-mgmt link add br-provider type bridge'));
  assert.ok(cmds.includes('ip link add eth2 netns lt-controller type veth peer name v0 netns lt-mgmt'));
  assert.ok(cmds.includes('ip link add eth1 netns lt-compute1 type veth peer name v1 netns lt-mgmt'));
  assert.ok(cmds.includes('ip link add eth0 netns lt-external type veth peer name vext netns lt-mgmt'));
  for (const port of ['v0', 'v1', 'vext']) assert.ok(cmds.includes(`ip -n lt-mgmt link set ${port} master br-provider`), port);
  assert.ok(cmds.includes('ip -n lt-controller addr add 192.168.0.104/24 dev eth1'));
  assert.ok(cmds.includes('ip -n lt-compute1 addr add 192.168.0.105/24 dev eth0'));
  assert.ok(cmds.includes('ip -n lt-external addr add 10.123.123.1/24 dev eth0'));
  assert.ok(cmds.includes('ip -n lt-external addr add 198.51.100.1/32 dev lo'), 'a client beyond the upstream router');
  assert.ok(cmds.includes('ip -n lt-external addr add 2001:db8:123::1/64 dev eth0 nodad'), 'the upstream host on the provider IPv6 prefix');
  assert.ok(cmds.includes('ip -n lt-mgmt link set p1 master br-mgmt'));
  assert.ok(cmds.includes('ip -n lt-controller link set eth2 up'));
  assert.ok(!cmds.some((c) => c.includes('addr add') && c.includes('eth2')), 'eth2 stays unaddressed');
  // Every command that creates or changes a device names one of the lab's namespaces.
  for (const c of wiringCommands(t))
    assert.ok(
      c.some((a) => a.startsWith('lt-')),
      c.join(' '),
    );
  // The bridge exists before any port is enslaved to it; addresses come after the veth exists.
  assert.ok(cmds.indexOf('ip -n lt-mgmt link add br-mgmt type bridge') < cmds.indexOf('ip -n lt-mgmt link set p0 master br-mgmt'));
  assert.deepEqual(unwiringCommands(['lt-mgmt']), [['ip', 'netns', 'delete', 'lt-mgmt']]);
});

test('agents: agent.ini like the scenario, started with nsenter --net (not ip netns exec)', () => {
  const paths = labPaths('/var/lib/neutrino', 'lt');
  const state = newLabState({
    lab: 'lt',
    stateDir: paths.dir,
    nodes: ['controller', 'compute1'],
    socket: paths.socket,
    agents: true,
    adminPassword: 'pw',
    demoPassword: 'dpw',
    now: new Date(0),
  });
  const ctl = nodeAgentConfig(state, paths, t.nodes[0]);
  const cmp = nodeAgentConfig(state, paths, t.nodes[1]);
  assert.equal(ctl.host, 'controller');
  assert.equal(ctl.serverUrl, 'unix:/var/lib/neutrino/labs/lt/server.sock');
  assert.equal(ctl.statePath, '/var/lib/neutrino/labs/lt/nodes/controller/state');
  assert.deepEqual(ctl.roles, ['l2', 'dhcp', 'l3']);
  assert.deepEqual(ctl.physicalInterfaceMappings, { provider: 'eth2' });
  assert.equal(ctl.localIp, '192.168.0.104');
  assert.deepEqual(cmp.roles, ['l2']);
  assert.deepEqual(cmp.physicalInterfaceMappings, { provider: 'eth1' });
  assert.equal(cmp.localIp, '192.168.0.105');
  assert.deepEqual(parseAgentConfig(renderAgentConfig(ctl)), ctl);
  const argv = agentArgv('lt-compute1', paths.agentIni('compute1'));
  assert.deepEqual(argv.slice(0, 3), ['nsenter', '--net=/run/netns/lt-compute1', '--']);
  assert.deepEqual(argv.slice(3), [
    process.execPath,
    '--max-semi-space-size=2',
    NEUTRINO_BIN,
    'agent',
    '--config',
    '/var/lib/neutrino/labs/lt/nodes/compute1/agent.ini',
  ]);
});

test('instances: names, tap on the node, eth0 with the MAC, udhcpc with the hook', () => {
  const port = '3c338602-d806-488a-ae66-c4c8f8d13b9b';
  const net = 'e6e37ba0-3b5c-4c1b-9a1e-6e1d5d5d5d5d';
  assert.equal(tapName(port), 'tap3c338602-d8');
  assert.equal(bridgeName(net), 'brqe6e37ba0-3b');
  assert.equal(instanceNamespace('lt', 'vm1'), 'lt-i-vm1');
  assert.throws(() => instanceNamespace('lt', 'Bad/Name'), /invalid instance name/);
  assert.throws(() => instanceNamespace('lt', 'x'.repeat(33)), /invalid instance name/);
  const cmds = instanceWiring({
    namespace: 'lt-i-vm1',
    hostNamespace: 'lt-compute1',
    tap: tapName(port),
    port: { id: port, mac: 'fa:16:3e:a7:f7:5a', fixedIps: [] },
    network: { id: net, name: 'selfservice', mtu: 1450 },
  }).map((c) => c.join(' '));
  assert.deepEqual(cmds, [
    'ip netns add lt-i-vm1',
    'ip -n lt-i-vm1 link set lo up',
    'nsenter --net=/run/netns/lt-i-vm1 -- sysctl -qw net.ipv6.conf.default.accept_ra_rt_info_max_plen=128',
    'ip link add tap3c338602-d8 netns lt-compute1 type veth peer name eth0 netns lt-i-vm1',
    'ip -n lt-i-vm1 link set eth0 address fa:16:3e:a7:f7:5a',
    'ip -n lt-compute1 link set tap3c338602-d8 mtu 1450',
    'ip -n lt-i-vm1 link set eth0 up',
    'ip -n lt-compute1 link set tap3c338602-d8 up',
  ]);
  const dhcp = dhcpClientArgv('lt-i-vm1', '/repo/dist/lab/dhcp-hook.js', '/s/instances/ID/udhcpc.pid');
  assert.deepEqual(dhcp.slice(0, 4), ['nsenter', '--net=/run/netns/lt-i-vm1', '--', 'udhcpc']);
  for (const flag of ['-f', '-q']) assert.ok(dhcp.includes(flag));
  assert.equal(dhcp[dhcp.indexOf('-s') + 1], '/repo/dist/lab/dhcp-hook.js');
  assert.equal(dhcp[dhcp.indexOf('-i') + 1], 'eth0');
  assert.ok(dhcp.join(' ').includes('-O mtu'));
});

test("the DHCP hook (udhcpc runs it by its `#!/usr/bin/env node`) runs on neutrino's Node.js, whichever node PATH has first", () => {
  const env = dhcpHookEnv({ PATH: '/usr/local/bin:/usr/bin:/bin' });
  const hookNode = spawnSync('/usr/bin/env', ['node', '-p', 'process.execPath'], { encoding: 'utf8', env });
  assert.equal(hookNode.stdout, `${process.execPath}\n`, hookNode.stderr);
});

test('processes: a PID is ours only while its command line still matches', () => {
  const argv = ['/usr/bin/node', '/repo/bin/neutrino.js', 'agent', '--config', '/s/labs/lt/nodes/compute1/agent.ini'];
  assert.ok(cmdlineMatches(argv, ['agent', '/s/labs/lt/nodes/compute1/agent.ini']));
  assert.ok(
    cmdlineMatches(inNetns(argv, 'lt-compute1'), ['agent', '/s/labs/lt/nodes/compute1/agent.ini']),
    'still nsenter, just before exec',
  );
  assert.ok(!cmdlineMatches(argv, ['agent', '/s/labs/other/nodes/compute1/agent.ini']));
  assert.ok(!cmdlineMatches(null, ['agent']), 'gone');
  assert.ok(!cmdlineMatches([], ['agent']), 'zombie');
});

test('hasEnded: a live process with its markers has not ended; a missing PID or another program has', () => {
  // This file's name: its command line holds it however it was started (the test runner passes the path as given).
  assert.equal(hasEnded({ pid: process.pid, markers: [basename(fileURLToPath(import.meta.url))] }), false);
  assert.equal(hasEnded({ pid: process.pid, markers: ['not-this-program-at-all'] }), true, 'a reused PID is another program');
  assert.equal(hasEnded({ pid: 4_194_304 + 7, markers: ['agent'] }), true, 'no such process');
});
