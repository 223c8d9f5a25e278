// The server's settings: Neutron option names in an INI file, flags over the file, clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../../src/server-config.js';

test('agent_down_time: default 75, [DEFAULT] agent_down_time, --agent-down-time over the file, bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    assert.equal(loadServerConfig({}).agentDownTime, 75);
    const file = join(dir, 'neutron.conf');
    writeFileSync(file, '[DEFAULT]\nagent_down_time = 20\n[token]\nexpiration = 600\n');
    const fromFile = loadServerConfig({ config: file });
    assert.equal(fromFile.agentDownTime, 20);
    assert.equal(fromFile.tokenTtlSeconds, 600);
    assert.equal(loadServerConfig({ config: file, agentDownTime: '9' }).agentDownTime, 9);
    assert.throws(() => loadServerConfig({ agentDownTime: 'soon' }), /--agent-down-time/);
    writeFileSync(file, '[DEFAULT]\nagent_down_time = -1\n');
    assert.throws(() => loadServerConfig({ config: file }), /agent_down_time/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connection bounds and graceful_shutdown_timeout: defaults, [api]/[DEFAULT] options, flags over the file, bad values refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-config-'));
  try {
    const d = loadServerConfig({});
    assert.deepEqual([d.headerTimeout, d.requestTimeout, d.keepaliveTimeout, d.gracefulShutdownTimeout], [20, 60, 30, 5]);
    const file = join(dir, 'neutron.conf');
    writeFileSync(file, '[DEFAULT]\ngraceful_shutdown_timeout = 7\n[api]\nheader_timeout = 3\nrequest_timeout = 9\nkeepalive_timeout = 4\n');
    const f = loadServerConfig({ config: file });
    assert.deepEqual([f.headerTimeout, f.requestTimeout, f.keepaliveTimeout, f.gracefulShutdownTimeout], [3, 9, 4, 7]);
    const flags = loadServerConfig({ config: file, headerTimeout: '2', requestTimeout: '5', keepaliveTimeout: '1', gracefulShutdownTimeout: '8' });
    assert.deepEqual([flags.headerTimeout, flags.requestTimeout, flags.keepaliveTimeout, flags.gracefulShutdownTimeout], [2, 5, 1, 8]);
    assert.throws(() => loadServerConfig({ gracefulShutdownTimeout: '0' }), /--graceful-shutdown-timeout/);
    assert.throws(() => loadServerConfig({ keepaliveTimeout: 'never' }), /--keepalive-timeout/);
    assert.throws(() => loadServerConfig({ headerTimeout: '90' }), /must not exceed request timeout/);
    writeFileSync(file, '[api]\nrequest_timeout = -3\n');
    assert.throws(() => loadServerConfig({ config: file }), /\[api\] request_timeout/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
