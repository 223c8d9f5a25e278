import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { Address4 } from 'ip-address';
import {
  broadcastAddress,
  canonicalIpOrNull,
  cidrContains,
  cidrSize,
  cidrsOverlap,
  eui64Address,
  isEui64Address,
  formatCidr,
  formatIp,
  hostRange,
  ipv4Netmask,
  ipv4NetmaskLength,
  ipVersion,
  nthAddress,
  parseIp,
  parsePrefix,
} from '../../src/model/ip.ts';

const prefix = (text: string) => {
  const c = parsePrefix(text);
  assert.ok(c, `${text} parses`);
  return c;
};

test('family detection: v4, v6, and what is neither', () => {
  assert.equal(ipVersion('192.0.2.1'), 4);
  assert.equal(ipVersion('2001:db8::1'), 6);
  assert.equal(ipVersion('::ffff:192.0.2.1'), 6);
  for (const bad of [
    '',
    '1.2.3',
    '256.1.1.1',
    '010.0.0.1',
    '1.2.3.04',
    ' 1.2.3.4',
    '0x1.2.3.4',
    '1:2:3:4:5:6:7:8:9',
    ':::',
    '[::1]',
    'fe80::1%eth0',
    '10.0.0.0/24',
    42,
    null,
  ]) {
    assert.equal(ipVersion(bad), null, String(bad));
  }
});

test('canonical text: IPv4 as given, IPv6 lower-case and zero-compressed (RFC 5952)', () => {
  const cases: Array<[string, string]> = [
    ['10.0.0.1', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    // the longest run of zeros is compressed; the first of two equal runs; a single zero group is not
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:0:1:0:0:1', '1::1:0:0:1'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
    ['0:2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    // IPv4-mapped and embedded IPv4 tails come out as hex groups, as the WHATWG URL parser prints them
    // (glibc's inet_ntop, and so iproute2, would print '::ffff:192.0.2.1')
    ['::FFFF:192.0.2.1', '::ffff:c000:201'],
    ['::ffff:c000:0201', '::ffff:c000:201'],
    ['0:0:0:0:0:0:1.2.3.4', '::102:304'],
  ];
  for (const [given, canonical] of cases) assert.equal(canonicalIpOrNull(given), canonical, given);
  assert.equal(canonicalIpOrNull('10.0.0.01'), null);
  assert.equal(canonicalIpOrNull('2001:db8::1/64'), null);
});

test('accepts exactly the addresses inet_pton accepts, and canonicalises IPv6 as the WHATWG URL parser does', () => {
  const v6Text = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((v) => {
    const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
    return groups.join(':');
  });
  fc.assert(
    fc.property(v6Text, fc.boolean(), (text, upper) => {
      const given = upper ? text.toUpperCase() : text;
      assert.equal(canonicalIpOrNull(given), new URL(`http://[${given}]/`).hostname.slice(1, -1));
    }),
  );
  const addressish = fc.string({ unit: fc.constantFrom('0', '1', '9', 'a', 'F', '.', ':', '2', '5'), maxLength: 20 });
  fc.assert(
    fc.property(addressish, (text) => {
      assert.equal(ipVersion(text) ?? 0, isIP(text), text);
    }),
    { numRuns: 2000 },
  );
});

test('prefixes: host bits kept in the address, cleared in the network; lengths checked per family', () => {
  const c = prefix('10.1.2.3/24');
  assert.equal(formatIp({ version: 4, value: c.address }), '10.1.2.3');
  assert.equal(formatCidr(c), '10.1.2.0/24');
  assert.equal(formatCidr(prefix('2001:DB8::1:0:0:1/64')), '2001:db8::/64');
  assert.equal(formatCidr(prefix('10.0.0.7')), '10.0.0.7/32');
  assert.equal(formatCidr(prefix('::1')), '::1/128');
  assert.equal(formatCidr(prefix('10.9.8.7/0')), '0.0.0.0/0');
  assert.equal(prefix('2001:db8::/128').prefixLength, 128);
  for (const bad of [
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/',
    '10.0.0.0/1e1',
    '10.0.0.0/-1',
    '10.0.0.0/24/1',
    '10.0.0.0/ 24',
    'x/24',
  ]) {
    assert.equal(parsePrefix(bad), null, bad);
  }
});

test('containment and overlap never cross families', () => {
  const net = prefix('10.0.0.0/24');
  assert.equal(cidrContains(net, parseIp('10.0.0.255')!), true);
  assert.equal(cidrContains(net, parseIp('10.0.1.0')!), false);
  assert.equal(cidrContains(prefix('::/0'), parseIp('10.0.0.1')!), false);
  assert.equal(cidrContains(prefix('2001:db8::/32'), parseIp('2001:db8:ffff::1')!), true);
  assert.equal(cidrContains(prefix('2001:db8::/32'), parseIp('2001:db9::')!), false);
  assert.equal(cidrsOverlap(net, prefix('10.0.0.128/25')), true);
  assert.equal(cidrsOverlap(net, prefix('10.0.1.0/24')), false);
  assert.equal(cidrsOverlap(prefix('2001:db8::/48'), prefix('2001:db8:0:ff::/64')), true);
  assert.equal(cidrsOverlap(prefix('0.0.0.0/0'), prefix('::/0')), false);
});

test('size, n-th address, broadcast and usable hosts of v4 and v6 prefixes', () => {
  const v4 = prefix('192.0.2.0/24');
  assert.equal(cidrSize(v4), 256n);
  assert.equal(nthAddress(v4, 0n), '192.0.2.0');
  assert.equal(nthAddress(v4, 10n), '192.0.2.10');
  assert.equal(nthAddress(v4, 255n), '192.0.2.255');
  assert.equal(nthAddress(v4, 256n), null);
  assert.equal(nthAddress(v4, -1n), null);
  assert.equal(broadcastAddress(v4), '192.0.2.255');
  assert.deepEqual(hostRange(v4), { start: parseIp('192.0.2.1')!.value, end: parseIp('192.0.2.254')!.value });
  assert.deepEqual(hostRange(prefix('192.0.2.4/31')), { start: parseIp('192.0.2.4')!.value, end: parseIp('192.0.2.5')!.value });
  assert.deepEqual(hostRange(prefix('192.0.2.4/32')), { start: parseIp('192.0.2.4')!.value, end: parseIp('192.0.2.4')!.value });

  const v6 = prefix('2001:db8::/64');
  assert.equal(cidrSize(v6), 1n << 64n);
  assert.equal(nthAddress(v6, 1n), '2001:db8::1');
  assert.equal(nthAddress(v6, (1n << 64n) - 1n), '2001:db8::ffff:ffff:ffff:ffff');
  assert.equal(nthAddress(v6, 1n << 64n), null);
  assert.equal(broadcastAddress(v6), null);
  assert.deepEqual(hostRange(v6), { start: parseIp('2001:db8::1')!.value, end: parseIp('2001:db8::ffff:ffff:ffff:ffff')!.value });
  assert.deepEqual(hostRange(prefix('2001:db8::5/128')), { start: parseIp('2001:db8::5')!.value, end: parseIp('2001:db8::5')!.value });
});

test('IPv4 netmasks to and from prefix lengths', () => {
  assert.equal(ipv4Netmask(0), '0.0.0.0');
  assert.equal(ipv4Netmask(8), '255.0.0.0');
  assert.equal(ipv4Netmask(23), '255.255.254.0');
  assert.equal(ipv4Netmask(32), '255.255.255.255');
  for (let len = 0; len <= 32; len++) assert.equal(ipv4NetmaskLength(ipv4Netmask(len)), len);
  assert.equal(ipv4NetmaskLength('255.0.255.0'), null);
  assert.equal(ipv4NetmaskLength('255.255.255.00'), null);
  assert.equal(ipv4NetmaskLength('ffff::'), null);
});

test("EUI-64 addresses as Neutron's get_ipv6_addr_by_EUI64 computes them", () => {
  // neutron/tests/unit/common/test_ipv6_utils.py: TestIsEui64Address / test_generate_IPv6_by_EUI64
  assert.equal(eui64Address('2001:db8::', '00:16:3e:33:44:55'), '2001:db8::216:3eff:fe33:4455');
  assert.equal(eui64Address('2001:db8::/64', '00:16:3E:33:44:55'), '2001:db8::216:3eff:fe33:4455');
  assert.equal(eui64Address('2001:db8:1:2::/64', '00-16-3e-33-44-55'), '2001:db8:1:2:216:3eff:fe33:4455');
  // the universal/local bit is flipped, whichever way it was set
  assert.equal(eui64Address('fe80::/64', '02:00:00:00:00:01'), 'fe80::ff:fe00:1');
  assert.equal(eui64Address('fe80::/64', 'fa:16:3e:00:00:01'), 'fe80::f816:3eff:fe00:1');
  // host bits of the prefix are ignored, as netaddr's IPNetwork.first ignores them
  assert.equal(eui64Address('2001:db8::1/64', '00:16:3e:33:44:55'), '2001:db8::216:3eff:fe33:4455');
  assert.equal(eui64Address('10.0.0.0/24', '00:16:3e:33:44:55'), null);
  // like Neutron, the prefix length is not checked: the interface id is added to the first address
  assert.equal(eui64Address('2001:db8::/96', '00:16:3e:33:44:55'), '2001:db8::216:3eff:fe33:4455');
  assert.equal(eui64Address('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '00:16:3e:33:44:55'), null);
  assert.equal(eui64Address('2001:db8::/64', '00:16:3e:33:44'), null);
  assert.equal(eui64Address('2001:db8::/64', '00:16-3e:33:44:55'), null);
  assert.equal(eui64Address('not-a-prefix', '00:16:3e:33:44:55'), null);
});

test("formatIp's IPv4 text is the library's correct form for every address", () => {
  const same = (v: bigint) => assert.equal(formatIp({ version: 4, value: v }), Address4.fromBigInt(v).correctForm());
  for (const v of [0n, 1n, 255n, 256n, 2n ** 24n, 2n ** 31n, 2n ** 32n - 1n]) same(v);
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), (v) => same(v)),
    { numRuns: 20_000 },
  );
});

test('isEui64Address: ff:fe in the middle of the interface id (ipv6_utils.is_eui64_address)', () => {
  assert.equal(isEui64Address('2001:db8::216:3eff:fe33:4455'), true);
  assert.equal(isEui64Address('2001:db8::f816:3eff:fe00:1'), true);
  assert.equal(isEui64Address('2001:db8::1'), false);
  assert.equal(isEui64Address('2001:db8::3eff:fe33:4455'), true);
  assert.equal(isEui64Address('10.0.0.1'), false);
});
