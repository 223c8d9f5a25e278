// Options neutrino does not act on are named with their file and line, never passed over in silence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iniOptions } from '../../src/config/ini-lines.ts';
import { AGENT_OPTIONS, optionWarnings } from '../../src/config/option-catalog.ts';
import { renderAgentConfig, parseAgentConfig } from '../../src/agent/config.ts';
import { loadServerConfig } from '../../src/server-config.ts';

test('iniOptions: section, option and 1-based line; comments, blank and continuation lines skipped', () => {
  const text =
    'debug = true\n# a comment\n[vxlan]\n; another\nlocal_ip=10.0.0.1\n\nmulticast_ranges = 224.0.0.10/32:100,\n  224.0.0.11/32:200\n';
  assert.deepEqual(iniOptions(text), [
    { section: 'DEFAULT', option: 'debug', line: 1 },
    { section: 'vxlan', option: 'local_ip', line: 5 },
    { section: 'vxlan', option: 'multicast_ranges', line: 7 },
  ]);
});

test("agent file: Neutron's options neutrino does not implement and unknown ones warned once each with file:line", () => {
  const text = [
    '[DEFAULT]',
    'host = compute1',
    'debug = true',
    '[vxlan]',
    'local_ip = 10.0.0.1',
    'udp_srcport_min = 1000',
    'local_ipp = 10.0.0.2',
    '[qos]',
    'kernel_hz = 250',
    '[frobnicate]',
    'level = 3',
    '[agent]',
    'report_interval = 5',
  ].join('\n');
  assert.deepEqual(optionWarnings('/etc/neutron/linuxbridge_agent.ini', text, AGENT_OPTIONS), [
    '/etc/neutron/linuxbridge_agent.ini:3: [DEFAULT] debug: not supported by neutrino, ignored',
    '/etc/neutron/linuxbridge_agent.ini:6: [vxlan] udp_srcport_min: not supported by neutrino, ignored',
    '/etc/neutron/linuxbridge_agent.ini:7: [vxlan] local_ipp: unknown option',
    '/etc/neutron/linuxbridge_agent.ini:9: [qos] kernel_hz: not supported by neutrino, ignored',
    '/etc/neutron/linuxbridge_agent.ini:11: [frobnicate] level: unknown option',
  ]);
});

test("the lab's agent.ini sets only options neutrino acts on", () => {
  const cfg = parseAgentConfig(
    '[DEFAULT]\nhost = n1\n[vxlan]\nlocal_ip = 10.0.0.1\n[linux_bridge]\nphysical_interface_mappings = provider:eth1\n',
  );
  assert.deepEqual(optionWarnings('agent.ini', renderAgentConfig(cfg), AGENT_OPTIONS), []);
});

test('server file: warnings name file and line, known-but-unimplemented told from unknown; supported options silent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    const file = join(dir, 'neutron.conf');
    writeFileSync(
      file,
      [
        '[DEFAULT]',
        'bind_port = 9797',
        'core_plugin = ml2',
        'bind_prot = 9898',
        '[ml2_type_vxlan]',
        'vni_ranges = 1:100',
        'vxlan_group = 239.1.1.1',
        '[oslo_messaging_rabbit]',
        'heartbeat_timeout_threshold = 60',
        '[keystone_authtoken]',
        'memcached_servers = localhost:11211',
      ].join('\n'),
    );
    const cfg = loadServerConfig({ config: file });
    assert.equal(cfg.port, 9797);
    assert.deepEqual(cfg.warnings, [
      `${file}:3: [DEFAULT] core_plugin: not supported by neutrino, ignored`,
      `${file}:4: [DEFAULT] bind_prot: unknown option`,
      `${file}:7: [ml2_type_vxlan] vxlan_group: not supported by neutrino, ignored`,
      `${file}:9: [oslo_messaging_rabbit] heartbeat_timeout_threshold: not supported by neutrino, ignored`,
      '[keystone_authtoken] is set but auth_strategy is builtin: the section has no effect',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
