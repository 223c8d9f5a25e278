// Renderers: golden batch text per namespace, iptables-restore text, argv only, and refusal of unsafe values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diff } from '../../src/kernel/diff.ts';
import type { Op } from '../../src/kernel/ops.ts';
import { concurrentSteps, render, type Command } from '../../src/kernel/render.ts';
import { renderTable } from '../../src/kernel/render-iptables.ts';
import { HOST, type ObservedNode } from '../../src/kernel/types.ts';
import { inNetns } from '../../src/exec/run.ts';
import { classify, failedLine } from '../../src/exec/errors.ts';
import { INSTANCE_1, INSTANCE_2, scenarioNode } from '../kernel/topology.ts';

test('a fresh node renders to: netns add, one ip batch for HOST, one per namespace, bridge, iptables-restore', () => {
  const want = scenarioNode({
    mgmtDev: 'eth1',
    localIp: '192.168.0.104',
    remoteIp: '192.168.0.105',
    vmNetns: 'vm1',
    local: INSTANCE_1,
    remote: INSTANCE_2,
  });
  const eth1 = {
    ifindex: 2,
    name: 'eth1',
    kind: 'device',
    mtu: 1500,
    up: true,
    operstate: 'UP',
    master: null,
    mac: '52:54:00:00:00:01',
    alias: null,
  };
  const observed: ObservedNode = {
    namespaces: {
      [HOST]: {
        mark: null,
        links: [eth1],
        addresses: [],
        routes: [],
        fdb: [],
        neigh: [],
        sysctls: {},
        iptables: {},
        ipsets: [],
        processes: [],
      },
    },
  };
  const cmds = render(diff(want, observed).ops);
  const summary = cmds.map((c) => (c.kind === 'run' ? `${c.netns === null ? '-' : c.netns || 'HOST'}: ${c.argv.join(' ')}` : c.kind));
  assert.deepEqual(summary, [
    '-: ip netns add vm1',
    'HOST: ip -batch -',
    'HOST: sysctl -q -w net.ipv6.conf.vxlan-41.disable_ipv6=1',
    // the security group chains before the tap joins the bridge (no window at plug)
    'HOST: iptables-restore -w --noflush',
    'HOST: ip -batch -',
    'HOST: bridge -batch -',
    'vm1: ip -batch -',
  ]);
  const text = (i: number) => (cmds[i]!.kind === 'run' ? (cmds[i] as { stdin?: string }).stdin : undefined);
  assert.equal(
    text(1),
    [
      'link add brqe6e37ba0-3b type bridge forward_delay 0 stp_state 0',
      'link add tap3c338602-d8 type veth peer name ns-3c338602-d8 netns vm1',
      'link add vxlan-41 type vxlan id 41 local 192.168.0.104 dev eth1 dstport 4789 nolearning proxy',
      '',
    ].join('\n'),
  );
  assert.equal(
    text(4),
    [
      'link set dev brqe6e37ba0-3b alias neutrino up',
      'link set dev vxlan-41 mtu 1450 alias neutrino master brqe6e37ba0-3b up',
      'link set dev tap3c338602-d8 mtu 1450 alias neutrino master brqe6e37ba0-3b up',
      'neigh replace 172.16.1.4 lladdr fa:16:3e:11:22:33 dev vxlan-41 nud permanent',
      '',
    ].join('\n'),
  );
  assert.equal(
    text(5),
    'fdb append 00:00:00:00:00:00 dev vxlan-41 dst 192.168.0.105 self permanent\nfdb replace fa:16:3e:11:22:33 dev vxlan-41 dst 192.168.0.105 self permanent\n',
  );
  assert.equal(
    text(6),
    [
      'link set dev lo alias neutrino up',
      'link set dev ns-3c338602-d8 address fa:16:3e:a7:f7:5a mtu 1450 alias neutrino up',
      'addr add 172.16.1.3/24 brd + dev ns-3c338602-d8',
      'route replace 0.0.0.0/0 via 172.16.1.1 dev ns-3c338602-d8 proto 149 metric 0',
      '',
    ].join('\n'),
  );
});

test('iptables-restore text: declare (and so flush), delete old jumps, append, insert jumps at the top, delete chains last', () => {
  const text = renderTable('filter', {
    write: [{ name: 'neutron-linuxbri-sg-chain', rules: ['-j ACCEPT'] }],
    builtins: [{ chain: 'FORWARD', remove: ['-j neutron-linuxbri-old'], insert: ['-j neutron-filter-top', '-j neutron-linuxbri-FORWARD'] }],
    delete: ['neutron-linuxbri-old'],
  });
  assert.equal(
    text,
    [
      '*filter',
      ':neutron-linuxbri-sg-chain - [0:0]',
      ':neutron-linuxbri-old - [0:0]',
      '-D FORWARD -j neutron-linuxbri-old',
      '-A neutron-linuxbri-sg-chain -j ACCEPT',
      '-I FORWARD 1 -j neutron-filter-top',
      '-I FORWARD 2 -j neutron-linuxbri-FORWARD',
      '-X neutron-linuxbri-old',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.throws(
    () => renderTable('filter', { write: [{ name: 'neutron-x', rules: ['-j ACCEPT\n-F'] }], builtins: [], delete: [] }),
    /bad iptables rule/,
  );
});

test('routes: IPv6 default spelled ::/0 (no per-line -6 in a batch), metric 1024', () => {
  const op: Op = { op: 'route-replace', ns: HOST, route: { dst: 'default', via: 'fd00::1', family: 6 } };
  const cmd = render([op])[0]!;
  assert.ok(cmd.kind === 'run');
  assert.equal(cmd.stdin, 'route replace ::/0 via fd00::1 proto 149 metric 1024\n');
});

test('routes: a multipath route names its paths last; its deletion names destination and metric alone', () => {
  const route = {
    dst: '10.8.0.0/24',
    family: 4 as const,
    nexthops: [
      { via: '172.16.1.3', dev: 'qr-0b1c2d3e-4f' },
      { via: '172.16.1.4', dev: 'qr-0b1c2d3e-4f' },
    ],
  };
  const add = render([{ op: 'route-replace', ns: HOST, route }])[0]!;
  assert.ok(add.kind === 'run');
  assert.equal(
    add.stdin,
    'route replace 10.8.0.0/24 proto 149 metric 0 nexthop via 172.16.1.3 dev qr-0b1c2d3e-4f nexthop via 172.16.1.4 dev qr-0b1c2d3e-4f\n',
  );
  const del = render([{ op: 'route-del', ns: HOST, route }])[0]!;
  assert.ok(del.kind === 'run');
  assert.equal(del.stdin, 'route del 10.8.0.0/24 proto 149 metric 0\n');
});

test('unsafe values never reach a command', () => {
  const bad: Op[] = [
    { op: 'link-del', ns: HOST, name: 'x y' },
    { op: 'link-set', ns: HOST, name: 'eth1', set: { alias: 'not-the-mark' } },
    { op: 'addr-add', ns: HOST, addr: { dev: 'eth1', address: '10.0.0.1/24 dev lo' } },
    { op: 'netns-add', ns: '../x' },
    { op: 'sysctl', ns: HOST, key: 'net.ipv4.ip_forward', value: '1;reboot' },
  ];
  for (const op of bad) assert.throws(() => render([op]), op.op);
});

test('a command enters a namespace with ip -n, or nsenter --net for other tools (never a shell)', () => {
  assert.deepEqual(inNetns(['ip', '-batch', '-'], 'qrouter-1'), ['ip', '-n', 'qrouter-1', '-batch', '-']);
  assert.deepEqual(inNetns(['iptables-save'], 'qrouter-1'), ['nsenter', '--net=/run/netns/qrouter-1', '--', 'iptables-save']);
  assert.deepEqual(inNetns(['iptables-save'], undefined), ['iptables-save']);
  assert.throws(() => inNetns(['ip'], 'a b'), { name: 'InvalidName', message: 'invalid namespace name: "a b"' });
});

test('kernel error kinds from stderr, and the failing batch line', () => {
  assert.equal(classify('RTNETLINK answers: File exists\nCommand failed -:3\n', 1), 'exists');
  assert.equal(classify('Cannot find device "vxlan-41"\n', 1), 'not-found');
  assert.equal(classify('RTNETLINK answers: Device or resource busy\n', 2), 'busy');
  assert.equal(classify('RTNETLINK answers: Operation not permitted\n', 2), 'permission');
  assert.equal(classify("iptables-restore v1.8.9 (nf_tables): Chain 'x' does not exist\nError occurred at line: 5\n", 2), 'not-found');
  assert.equal(classify('Another app is currently holding the xtables lock.', 4), 'busy');
  assert.equal(failedLine('RTNETLINK answers: File exists\nCommand failed -:2\n', 'a\nb\nc\n'), 'b');
  assert.equal(failedLine('Error occurred at line: 1\n', '*filter\n'), '*filter');
});

test('an iptables and an ip6tables restore of one namespace side by side share a step; all else runs alone, in order', () => {
  const run = (netns: string, ...argv: string[]): Command => ({ kind: 'run', netns, argv, ops: [] });
  const ipset = run(HOST, 'ipset', 'restore', '-exist');
  const v4 = run(HOST, 'iptables-restore', '-w', '--noflush');
  const v6 = run(HOST, 'ip6tables-restore', '-w', '--noflush');
  const links = run(HOST, 'ip', '-batch', '-');
  const v4r = run('qrouter-1', 'iptables-restore', '-w', '--noflush');
  const v6r = run('qrouter-1', 'ip6tables-restore', '-w', '--noflush');
  const v6other = run('qrouter-2', 'ip6tables-restore', '-w', '--noflush');
  assert.deepEqual(concurrentSteps([ipset, v4, v6, links]), [[ipset], [v4, v6], [links]]);
  assert.deepEqual(concurrentSteps([v6r, v4r, v6]), [[v6r, v4r], [v6]]);
  // Two namespaces' tables, or two of one family, stay apart.
  assert.deepEqual(concurrentSteps([v4r, v6other]), [[v4r], [v6other]]);
  assert.deepEqual(concurrentSteps([v4, v4r]), [[v4], [v4r]]);
  assert.deepEqual(concurrentSteps([]), []);
});
