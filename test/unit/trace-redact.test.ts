// A recorded agent configuration keeps every setting the tracer uses and no secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactIni } from '../../src/trace/read/redact.ts';
import { parseAgentConfig } from '../../src/agent/config.ts';

test('redactIni: password, secret and token values replaced; settings, comments and empty values kept', () => {
  const text = [
    '[DEFAULT]',
    'host = compute1',
    '[neutrino]',
    'password = s3cret-value',
    'admin_password=also',
    '# password = in a comment stays',
    'auth_token =',
    '[keystone_authtoken]',
    'memcache_secret_key = k',
    '[vxlan]',
    'local_ip = 192.168.0.105',
  ].join('\n');
  const out = redactIni(text);
  assert.doesNotMatch(out, /s3cret-value|= ?also|memcache_secret_key = k/);
  assert.match(out, /^password = <redacted>$/m);
  assert.match(out, /^admin_password=<redacted>$/m);
  assert.match(out, /^# password = in a comment stays$/m);
  assert.match(out, /^auth_token =$/m);
  assert.equal(parseAgentConfig(out).localIp, '192.168.0.105', 'what the tracer reads survives');
});
