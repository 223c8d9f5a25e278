import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NeutronError } from '../../src/model/errors.ts';
import {
  convertEthertype,
  convertPort,
  convertProtocol,
  convertRemoteIpPrefix,
  normalizedCidr,
  ruleKey,
  validateRule,
  type RuleFields,
} from '../../src/model/sgrules.ts';

/** Asserts that fn throws a NeutronError with this status and type; returns its message. */
function fails(fn: () => unknown, status: number, type: string): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NeutronError, String(e));
    assert.equal(e.type, type);
    assert.equal(e.status, status);
    return e.message;
  }
  assert.fail(`expected ${type}`);
}

const rule = (over: Partial<RuleFields> = {}): RuleFields => ({
  security_group_id: 'sg',
  direction: 'ingress',
  ethertype: 'IPv4',
  protocol: null,
  port_range_min: null,
  port_range_max: null,
  remote_ip_prefix: null,
  remote_group_id: null,
  remote_address_group_id: null,
  ...over,
});

test('protocol: names lower-cased, numbers kept as decimal text, any/null mean any', () => {
  assert.equal(convertProtocol('TCP'), 'tcp');
  assert.equal(convertProtocol('icmp'), 'icmp');
  assert.equal(convertProtocol('icmpv6'), 'icmpv6');
  assert.equal(convertProtocol('ipv6-icmp'), 'ipv6-icmp');
  assert.equal(convertProtocol(6), '6');
  assert.equal(convertProtocol('6'), '6');
  assert.equal(convertProtocol('006'), '6');
  assert.equal(convertProtocol(0), '0');
  assert.equal(convertProtocol(255), '255');
  assert.equal(convertProtocol(null), null);
  assert.equal(convertProtocol('any'), null);
  const msg = fails(() => convertProtocol('foo'), 400, 'SecurityGroupRuleInvalidProtocol');
  assert.match(
    msg,
    /^Security group rule protocol foo not supported\. Only protocol values \(None, 'any', 'ah', .*'vrrp'\) and integer representations \[0 to 255\] are supported\.$/,
  );
  fails(() => convertProtocol(256), 400, 'SecurityGroupRuleInvalidProtocol');
  fails(() => convertProtocol('-1'), 400, 'SecurityGroupRuleInvalidProtocol');
  fails(() => convertProtocol(6.5), 400, 'SecurityGroupRuleInvalidProtocol');
  fails(() => convertProtocol(true), 400, 'SecurityGroupRuleInvalidProtocol');
  fails(() => convertProtocol({}), 400, 'SecurityGroupRuleInvalidProtocol');
});

test('ethertype: case-insensitive, canonical output', () => {
  assert.equal(convertEthertype('ipv4'), 'IPv4');
  assert.equal(convertEthertype('IPV6'), 'IPv6');
  const msg = fails(() => convertEthertype('IPv5'), 400, 'SecurityGroupRuleInvalidEtherType');
  assert.equal(msg, "Security group rule for ethertype 'IPv5' not supported. Allowed values are ['IPv4', 'IPv6'].");
  fails(() => convertEthertype(null), 400, 'SecurityGroupRuleInvalidEtherType');
});

test('ports: integers 0-65535, numeric text accepted', () => {
  assert.equal(convertPort(22), 22);
  assert.equal(convertPort('22'), 22);
  assert.equal(convertPort(0), 0);
  assert.equal(convertPort(65535), 65535);
  assert.equal(convertPort(null), null);
  assert.equal(
    fails(() => convertPort(65536), 400, 'SecurityGroupInvalidPortValue'),
    'Invalid value for port 65536',
  );
  fails(() => convertPort(-1), 400, 'SecurityGroupInvalidPortValue');
  fails(() => convertPort('ssh'), 400, 'SecurityGroupInvalidPortValue');
});

test('remote_ip_prefix: mask always present, host bits kept; normalized_cidr zeroes them', () => {
  assert.equal(convertRemoteIpPrefix('10.0.0.5'), '10.0.0.5/32');
  assert.equal(convertRemoteIpPrefix('10.0.0.5/24'), '10.0.0.5/24');
  assert.equal(convertRemoteIpPrefix('10.0.0.0/255.255.255.0'), '10.0.0.0/24');
  assert.equal(convertRemoteIpPrefix('2001:DB8:0:0::1/64'), '2001:db8::1/64');
  assert.equal(convertRemoteIpPrefix('0.0.0.0/0'), '0.0.0.0/0');
  assert.equal(convertRemoteIpPrefix(''), null);
  assert.equal(convertRemoteIpPrefix(null), null);
  assert.equal(normalizedCidr('10.0.0.5/24'), '10.0.0.0/24');
  assert.equal(normalizedCidr('2001:db8::1/64'), '2001:db8::/64');
  assert.equal(normalizedCidr(null), null);
  assert.equal(
    fails(() => convertRemoteIpPrefix('10.0.0.0/33'), 400, 'InvalidCIDR'),
    'Invalid CIDR 10.0.0.0/33 given as IP prefix.',
  );
  fails(() => convertRemoteIpPrefix('not-an-ip'), 400, 'InvalidCIDR');
  fails(() => convertRemoteIpPrefix('10.0.0.0/255.0.255.0'), 400, 'InvalidCIDR');
});

test('port ranges: TCP/UDP need min <= max and no port 0; the full range means no range', () => {
  assert.deepEqual(validateRule(rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22 })).port_range_min, 22);
  const full = validateRule(rule({ protocol: 'tcp', port_range_min: 1, port_range_max: 65535 }));
  assert.equal(full.port_range_min, null);
  assert.equal(full.port_range_max, null);
  assert.equal(
    fails(() => validateRule(rule({ protocol: 'tcp', port_range_min: 80, port_range_max: 22 })), 400, 'SecurityGroupInvalidPortRange'),
    'For TCP/UDP protocols, port_range_min must be <= port_range_max',
  );
  fails(() => validateRule(rule({ protocol: 'udp', port_range_min: 53 })), 400, 'SecurityGroupInvalidPortRange');
  assert.equal(
    fails(() => validateRule(rule({ protocol: '6', port_range_min: 0, port_range_max: 10 })), 400, 'SecurityGroupInvalidPortValue'),
    'Invalid value for port 0',
  );
  assert.equal(
    fails(() => validateRule(rule({ port_range_min: 22, port_range_max: 22 })), 400, 'SecurityGroupProtocolRequiredWithPorts'),
    'Must also specify protocol if port range is given.',
  );
  assert.equal(
    fails(
      () => validateRule(rule({ protocol: 'gre', port_range_min: 22, port_range_max: 22 })),
      400,
      'SecurityGroupInvalidProtocolForPort',
    ),
    'Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.',
  );
  validateRule(rule({ protocol: 'sctp', port_range_min: 1, port_range_max: 100 }));
});

test('ICMP: type and code 0-255, code needs a type', () => {
  validateRule(rule({ protocol: 'icmp', port_range_min: 8, port_range_max: 0 }));
  validateRule(rule({ protocol: 'icmp', port_range_min: 0 }));
  assert.equal(
    fails(() => validateRule(rule({ protocol: 'icmp', port_range_min: 256 })), 400, 'SecurityGroupInvalidIcmpValue'),
    'Invalid value for ICMP type (port_range_min) 256. It must be 0 to 255.',
  );
  assert.equal(
    fails(() => validateRule(rule({ protocol: '1', port_range_min: 8, port_range_max: 300 })), 400, 'SecurityGroupInvalidIcmpValue'),
    'Invalid value for ICMP code (port_range_max) 300. It must be 0 to 255.',
  );
  assert.equal(
    fails(() => validateRule(rule({ protocol: 'icmp', port_range_max: 0 })), 400, 'SecurityGroupMissingIcmpType'),
    'ICMP code (port-range-max) 0 is provided but ICMP type (port-range-min) is missing.',
  );
  validateRule(rule({ ethertype: 'IPv6', protocol: 'ipv6-icmp', port_range_min: 128, port_range_max: 0 }));
});

test('IPv6 ICMP names are canonicalized; IPv6-only protocols conflict with IPv4', () => {
  assert.equal(validateRule(rule({ ethertype: 'IPv6', protocol: 'icmp' })).protocol, 'ipv6-icmp');
  assert.equal(validateRule(rule({ ethertype: 'IPv6', protocol: 'icmpv6' })).protocol, 'ipv6-icmp');
  assert.equal(validateRule(rule({ ethertype: 'IPv6', protocol: '1' })).protocol, '58');
  assert.equal(validateRule(rule({ ethertype: 'IPv4', protocol: 'icmp' })).protocol, 'icmp');
  assert.equal(
    fails(() => validateRule(rule({ protocol: 'icmpv6' })), 400, 'SecurityGroupEthertypeConflictWithProtocol'),
    'Invalid ethertype IPv4 for protocol icmpv6.',
  );
  fails(() => validateRule(rule({ protocol: '58' })), 400, 'SecurityGroupEthertypeConflictWithProtocol');
  fails(() => validateRule(rule({ protocol: 'ipv6-frag' })), 400, 'SecurityGroupEthertypeConflictWithProtocol');
});

test('remote prefix family must match the ethertype; only one remote entity', () => {
  assert.equal(
    fails(() => validateRule(rule({ remote_ip_prefix: '2001:db8::/64' })), 400, 'SecurityGroupRuleParameterConflict'),
    'Conflicting value ethertype IPv4 for CIDR 2001:db8::/64',
  );
  fails(() => validateRule(rule({ ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/8' })), 400, 'SecurityGroupRuleParameterConflict');
  assert.equal(
    fails(() => validateRule(rule({ remote_ip_prefix: '10.0.0.0/8', remote_group_id: 'g' })), 400, 'SecurityGroupMultipleRemoteEntites'),
    'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.',
  );
  fails(() => validateRule(rule({ remote_group_id: 'g', remote_address_group_id: 'a' })), 400, 'SecurityGroupMultipleRemoteEntites');
});

test('duplicate key: protocol names equal numbers, 0.0.0.0/0 equals no prefix', () => {
  assert.equal(
    ruleKey(rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22 })),
    ruleKey(rule({ protocol: '6', port_range_min: 22, port_range_max: 22 })),
  );
  assert.equal(ruleKey(rule({ remote_ip_prefix: '0.0.0.0/0' })), ruleKey(rule()));
  assert.equal(ruleKey(rule({ ethertype: 'IPv6', remote_ip_prefix: '::/0' })), ruleKey(rule({ ethertype: 'IPv6' })));
  assert.equal(ruleKey(rule({ ethertype: 'IPv6', protocol: 'ipv6-icmp' })), ruleKey(rule({ ethertype: 'IPv6', protocol: '58' })));
  assert.notEqual(ruleKey(rule({ protocol: 'tcp' })), ruleKey(rule({ protocol: 'udp' })));
  assert.notEqual(ruleKey(rule({ direction: 'egress' })), ruleKey(rule()));
  assert.notEqual(ruleKey(rule({ remote_ip_prefix: '10.0.0.1/24' })), ruleKey(rule({ remote_ip_prefix: '10.0.0.0/24' })));
  assert.notEqual(ruleKey(rule({ security_group_id: 'other' })), ruleKey(rule()));
});
