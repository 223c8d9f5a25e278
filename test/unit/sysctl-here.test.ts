// Sysctls read from /proc/sys as `sysctl -e` prints them (the agent's own namespace, no process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseSysctl } from '../../src/observe/netns.ts';
import { procSysPath, readSysctlsHere } from '../../src/exec/sysctl-here.ts';

test('a key maps to its /proc/sys file; a slash stands for a dot inside a level', () => {
  assert.equal(procSysPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  assert.equal(procSysPath('net.ipv6.conf.eth1/100.disable_ipv6'), '/proc/sys/net/ipv6/conf/eth1.100/disable_ipv6');
});

test('the values are what sysctl -e prints, and a key of a missing device is left out', async (t) => {
  const keys = ['net.ipv4.ip_forward', 'net.ipv6.conf.lo.disable_ipv6', 'net.ipv4.tcp_rmem', 'net.ipv6.conf.nosuchdev0.disable_ipv6'];
  const tool = spawnSync('sysctl', ['-e', ...keys], { encoding: 'utf8' });
  if (tool.error) return t.skip('no sysctl tool here');
  const here = await readSysctlsHere(keys);
  assert.deepEqual(parseSysctl(here), parseSysctl(tool.stdout));
  assert.equal(parseSysctl(here)['net.ipv6.conf.nosuchdev0.disable_ipv6'], undefined);
  assert.match(parseSysctl(here)['net.ipv4.tcp_rmem']!, /^\d+\t\d+\t\d+$/);
});
