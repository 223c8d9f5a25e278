// [vxlan] udp_dstport, ttl, tos, local_ip and vxlan_group: read and checked as Neutron's Linux-bridge agent does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentConfigError, parseAgentConfig, renderAgentConfig, vxlanSettingsOf } from '../../src/agent/config.ts';
import { vxlanGroupOf, vxlanGroupProblem } from '../../src/planner/vxlan-group.ts';

const BASE = '[DEFAULT]\nhost = n1\n[vxlan]\nlocal_ip = 10.0.0.1\n';

test('defaults: the kernel port 8472, no ttl/tos, l2population, group 224.0.0.1', () => {
  assert.deepEqual(vxlanSettingsOf(parseAgentConfig(BASE)), {
    dstport: 8472,
    ttl: null,
    tos: null,
    l2Population: true,
    group: '224.0.0.1',
  });
});

test('udp_dstport, ttl, tos from the file; 0 means unset as in Neutron; out of range refused', () => {
  const cfg = parseAgentConfig(BASE + 'udp_dstport = 4789\nttl = 64\ntos = 184\n');
  assert.deepEqual([cfg.udpDstport, cfg.ttl, cfg.tos], [4789, 64, 184]);
  assert.equal(parseAgentConfig(BASE + 'udp_dstport = 0\n').udpDstport, null);
  assert.throws(() => parseAgentConfig(BASE + 'udp_dstport = 70000\n'), /\[vxlan\] udp_dstport must be an integer from 0 to 65535/);
  assert.throws(() => parseAgentConfig(BASE + 'ttl = 256\n'), /\[vxlan\] ttl/);
  assert.throws(() => parseAgentConfig(BASE + 'tos = high\n'), /\[vxlan\] tos/);
  // The lab's writer and the reader agree.
  assert.deepEqual(parseAgentConfig(renderAgentConfig(cfg)), cfg);
});

test('local_ip must be an IP address', () => {
  assert.throws(() => parseAgentConfig('[DEFAULT]\nhost = n1\n[vxlan]\nlocal_ip = eth0\n'), AgentConfigError);
});

test("vxlan_group without l2population: a multicast address or network of local_ip's family, else refused at start", () => {
  const off = BASE + 'l2_population = false\n';
  assert.equal(parseAgentConfig(off).vxlanGroup, '224.0.0.1');
  assert.equal(parseAgentConfig(off + 'vxlan_group = 239.0.0.0/8\n').vxlanGroup, '239.0.0.0/8');
  assert.throws(() => parseAgentConfig(off + 'vxlan_group = 10.1.1.1\n'), /vxlan_group '10\.1\.1\.1' must be a multicast/);
  assert.throws(() => parseAgentConfig(off + 'vxlan_group = ff05::1\n'), /same address family/);
  assert.throws(() => parseAgentConfig(off + 'vxlan_group =\n'), /vxlan_group must be set/);
  // With l2population the group is not used, so not checked (Neutron only needs it for MCAST mode).
  assert.equal(parseAgentConfig(BASE + 'vxlan_group = 10.1.1.1\n').vxlanGroup, '10.1.1.1');
  assert.equal(vxlanGroupProblem('ff05::/16', 'fd00::1'), null);
});

test("vxlan_group as a network: each VNI gets network + (VNI & hostmask), Neutron's get_vxlan_group", () => {
  assert.equal(vxlanGroupOf('224.0.0.1', 41), '224.0.0.1');
  assert.equal(vxlanGroupOf('239.1.0.0/16', 41), '239.1.0.41');
  assert.equal(vxlanGroupOf('239.1.0.0/16', 65536 + 300), '239.1.1.44');
  assert.equal(vxlanGroupOf('239.0.0.0/8', 0x123456), '239.18.52.86');
  assert.equal(vxlanGroupOf('ff05::/112', 0x10001), 'ff05::1');
});
