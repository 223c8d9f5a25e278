// The instance's addresses as `neutrino instance list` reads them from `ip -j addr show dev eth0 scope global`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressesOfIpJson } from '../../src/lab/instance.ts';

test('the empty objects iproute2 leaves for addresses its scope filter drops (the link-local one) are not addresses', () => {
  // iproute2 6.x output for a dual-stack eth0 with a link-local address, filtered by scope global.
  const out = JSON.stringify([
    {
      ifname: 'eth0',
      addr_info: [
        { family: 'inet', local: '10.9.9.9', prefixlen: 24, scope: 'global' },
        { family: 'inet6', local: '2001:db8::5', prefixlen: 64, scope: 'global' },
        {},
      ],
    },
  ]);
  assert.deepEqual(addressesOfIpJson(out), ['10.9.9.9/24', '2001:db8::5/64']);
});

test('no device, no addresses', () => {
  assert.deepEqual(addressesOfIpJson(''), []);
  assert.deepEqual(addressesOfIpJson('[{"ifname":"eth0"}]'), []);
});
