// radvd's config as Neutron's L3 agent writes it: each expected text below is what Neutron's own
// CONFIG_TEMPLATE (neutron/agent/linux/ra.py) renders with Jinja for the same ports and subnets,
// whitespace included; and its argv, config and pid file where Neutron's ProcessManager puts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsRadvd, radvdConfig, radvdProcess, type RadvdPort } from '../../src/planner/radvd.ts';
import { routerSubnet } from '../helpers/router-view.ts';

const QR = 'qr-aaaaaaaa-aa';
const TAIL = '\n\n   route fe80::a9fe:a9fe/128 {\n   };\n};';
const HEAD = (dev: string) => `interface ${dev}\n{\n   AdvSendAdvert on;\n   MinRtrAdvInterval 30;\n   MaxRtrAdvInterval 100;`;
const port = (mtu: number, ...subnets: RadvdPort['subnets']): RadvdPort => ({ dev: QR, mtu, subnets });

test('SLAAC: autonomous prefix, RDNSS from the subnet’s name servers, the link MTU', () => {
  const p = port(
    1450,
    routerSubnet('s1', 'fd00:1::/64', 'fd00:1::1', { ipv6_ra_mode: 'slaac', dns_nameservers: ['2001:db8::53', '2001:db8::54'] }),
  );
  assert.equal(
    radvdConfig([p]),
    HEAD(QR) +
      '\n   AdvLinkMTU 1450;\n   \n   RDNSS  2001:db8::53  2001:db8::54  {};\n   \n   prefix fd00:1::/64\n   {\n        AdvOnLink on;\n        AdvAutonomous on;\n   };\n   ' +
      TAIL,
  );
});

test('DHCPv6-stateful: the managed flag, a prefix clients do not autoconfigure from, no RDNSS', () => {
  const p = port(
    1500,
    routerSubnet('s2', 'fd00:2::/64', 'fd00:2::1', { ipv6_ra_mode: 'dhcpv6-stateful', dns_nameservers: ['2001:db8::53'] }),
  );
  assert.equal(
    radvdConfig([p]),
    HEAD(QR) +
      '\n   AdvLinkMTU 1500;\n   \n   AdvManagedFlag on;\n   \n   prefix fd00:2::/64\n   {\n        AdvOnLink on;\n        AdvAutonomous off;\n   };\n   ' +
      TAIL,
  );
});

test('DHCPv6-stateless: the other-config flag and an autonomous prefix; an MTU under 1280 is not advertised', () => {
  const p = port(1000, routerSubnet('s3', 'fd00:3::/64', 'fd00:3::1', { ipv6_ra_mode: 'dhcpv6-stateless' }));
  assert.equal(
    radvdConfig([p]),
    HEAD(QR) +
      '\n   AdvOtherConfigFlag on;\n   \n   prefix fd00:3::/64\n   {\n        AdvOnLink on;\n        AdvAutonomous on;\n   };\n   ' +
      TAIL,
  );
});

test('several subnets and ports: IPv4 subnets ignored, at most three RDNSS, a port without RA mode gets a bare block', () => {
  const a = port(
    1450,
    routerSubnet('v4', '10.0.0.0/24', '10.0.0.1'),
    routerSubnet('s1', 'fd00:1::/64', 'fd00:1::1', {
      ipv6_ra_mode: 'slaac',
      dns_nameservers: ['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4'],
    }),
    routerSubnet('s2', 'fd00:2::/64', 'fd00:2::1', { ipv6_ra_mode: 'dhcpv6-stateful' }),
  );
  const b: RadvdPort = { dev: 'qr-bbbbbbbb-bb', mtu: 0, subnets: [routerSubnet('s4', 'fd00:4::/64', 'fd00:4::1')] };
  const v4only: RadvdPort = { dev: 'qr-cccccccc-cc', mtu: 1500, subnets: [routerSubnet('v4b', '10.0.1.0/24', '10.0.1.1')] };
  assert.equal(
    radvdConfig([a, v4only, b]),
    HEAD(QR) +
      '\n   AdvLinkMTU 1450;\n   \n   AdvManagedFlag on;\n   \n   RDNSS  2001:db8::1  2001:db8::2  2001:db8::3  {};\n   ' +
      '\n   prefix fd00:1::/64\n   {\n        AdvOnLink on;\n        AdvAutonomous on;\n   };\n   ' +
      '\n   prefix fd00:2::/64\n   {\n        AdvOnLink on;\n        AdvAutonomous off;\n   };\n   ' +
      TAIL +
      HEAD('qr-bbbbbbbb-bb') +
      TAIL,
  );
  assert.equal(needsRadvd([v4only]), false);
  assert.equal(needsRadvd([v4only, b]), true);
});

test('the daemon: radvd -C <state>/ra/<router>.radvd.conf -p <state>/external/pids/<router>.pid.radvd -m syslog -u <agent user>', () => {
  const p = port(1450, routerSubnet('s1', 'fd00:1::/64', 'fd00:1::1', { ipv6_ra_mode: 'slaac' }));
  const proc = radvdProcess('/var/lib/neutrino', 'r1', [p], 'root');
  assert.deepEqual(proc.argv, [
    'radvd',
    '-C',
    '/var/lib/neutrino/ra/r1.radvd.conf',
    '-p',
    '/var/lib/neutrino/external/pids/r1.pid.radvd',
    '-m',
    'syslog',
    '-u',
    'root',
  ]);
  assert.equal(proc.id, 'radvd-r1');
  assert.equal(proc.pidFile, '/var/lib/neutrino/external/pids/r1.pid.radvd');
  assert.deepEqual(
    proc.files.map((f) => f.path),
    ['/var/lib/neutrino/ra/r1.radvd.conf'],
  );
  // radvd_user = root: no -u.
  assert.deepEqual(radvdProcess('/s', 'r1', [p], null).argv.slice(-2), ['-m', 'syslog']);
});
