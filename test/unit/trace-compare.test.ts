// Comparisons by meaning (src/trace/checks/compare.ts) on the shapes a real Neutron agent writes: its
// security-group rules in its server's order, its SNAT rules in its own order and its match modules
// in its code's order; and real differences still found and named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chainDiffers,
  compareChain,
  describeChainDiff,
  findRule,
  ruleKey,
  ruleTarget,
  ruleWords,
  sysctlValue,
} from '../../src/trace/checks/compare.ts';

const ESTABLISHED =
  '-m state --state RELATED,ESTABLISHED -m comment --comment "Direct packets associated with a known session to the RETURN chain." -j RETURN';
const DHCP = [
  '-d 172.16.1.124/32 -p udp -m udp --sport 67 --dport 68 -j RETURN',
  '-d 255.255.255.255/32 -p udp -m udp --sport 67 --dport 68 -j RETURN',
];
const INVALID =
  '-m state --state INVALID -m comment --comment "Drop packets that appear related to an existing connection (e.g. TCP ACK/FIN) but do not have an entry in conntrack." -j DROP';
const FALLBACK = '-m comment --comment "Send unmatched traffic to the fallback chain." -j neutron-linuxbri-sg-fallback';
const SSH = '-p tcp -m tcp --dport 22 -j RETURN';
const ICMP = '-p icmp -j RETURN';
const FROM_GROUP = '-m set --match-set NIPv4d07e005d-7860-49c9-a578- src -j RETURN';

/** neutrino's planner order and the real agent's (recorded on Zed) for one port's ingress chain. */
const PLANNER = [ESTABLISHED, ...DHCP, ICMP, SSH, INVALID, FALLBACK];
const REAL = [ESTABLISHED, ...DHCP, SSH, ICMP, INVALID, FALLBACK];

test('ruleWords: a quoted comment is one word', () => {
  assert.deepEqual(ruleWords(FALLBACK), [
    '-m',
    'comment',
    '--comment',
    '"Send unmatched traffic to the fallback chain."',
    '-j',
    'neutron-linuxbri-sg-fallback',
  ]);
});

test('compareChain: the real agent’s ingress chain (its server’s rule order) is the planner’s: no difference', () => {
  const d = compareChain(PLANNER, REAL);
  assert.deepEqual(d, { missing: [], unexpected: [], reordered: [] });
  assert.equal(chainDiffers(d), false);
});

test('compareChain: two groups’ rules interleaved differently, a remote-group rule among them, a rule written twice: no difference', () => {
  const planner = [ESTABLISHED, ...DHCP, ICMP, SSH, FROM_GROUP, INVALID, FALLBACK];
  const real = [ESTABLISHED, FROM_GROUP, ...DHCP.slice().reverse(), SSH, ICMP, SSH, INVALID, FALLBACK];
  assert.equal(chainDiffers(compareChain(planner, real)), false);
});

test('compareChain: a rule really missing and one really unexpected are named, not counted', () => {
  const d = compareChain(PLANNER, [ESTABLISHED, ...DHCP, '-p tcp -m tcp --dport 8080 -j RETURN', ICMP, INVALID, FALLBACK]);
  assert.deepEqual(d.missing, [SSH]);
  assert.deepEqual(d.unexpected, ['-p tcp -m tcp --dport 8080 -j RETURN']);
  assert.deepEqual(d.reordered, []);
  assert.equal(
    describeChainDiff(d, (r) => `-A neutron-linuxbri-i63ff1621-3 ${r}`),
    `missing: '-A neutron-linuxbri-i63ff1621-3 ${SSH}'; unexpected: '-A neutron-linuxbri-i63ff1621-3 -p tcp -m tcp --dport 8080 -j RETURN'`,
  );
});

test('compareChain: order kept where it matters — DROP before RETURN, the fixed head and tail', () => {
  // The INVALID drop ahead of the established-session return drops nothing more, but it is another chain.
  const dropFirst = compareChain(PLANNER, [INVALID, ESTABLISHED, ...DHCP, SSH, ICMP, FALLBACK]);
  assert.deepEqual(dropFirst.missing, []);
  assert.deepEqual(dropFirst.unexpected, []);
  assert.ok(dropFirst.reordered.length > 0);
  assert.deepEqual(dropFirst.reordered[0], { first: INVALID, then: ESTABLISHED });
  // The fallback (DROP everything) before the rules that admit: everything is dropped.
  const tailFirst = compareChain(PLANNER, [FALLBACK, ESTABLISHED, ...DHCP, SSH, ICMP, INVALID]);
  assert.match(
    describeChainDiff(tailFirst),
    /^out of order: '.*-j neutron-linuxbri-sg-fallback' comes before '.*RELATED,ESTABLISHED.*-j RETURN', which should decide first \(and \d+ more pair\(s\)\)$/,
  );
});

test('ruleKey: the real SNAT rule with its matches in the L3 agent’s order is the planner’s; --random-fully where iptables lacks it', () => {
  const planner = '-m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source 10.123.123.102 --random-fully';
  const reordered = '-m conntrack --ctstate DNAT -m mark ! --mark 0x2/0xffff -j SNAT --to-source 10.123.123.102 --random-fully';
  assert.equal(ruleKey(reordered), ruleKey(planner));
  assert.equal(ruleKey('-m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source 10.123.123.102'), ruleKey(planner));
  assert.equal(
    ruleKey('-i qr-+ -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697'),
    ruleKey('-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697'),
  );
  assert.equal(ruleTarget(planner), '-j SNAT --to-source 10.123.123.102');
});

test('ruleKey: what changes the meaning still differs — a negation, another address, another target', () => {
  assert.notEqual(ruleKey('! -s 10.0.0.0/8 -j RETURN'), ruleKey('-s 10.0.0.0/8 -j RETURN'));
  assert.notEqual(ruleKey('-m mark ! --mark 0x2/0xffff -j ACCEPT'), ruleKey('-m mark --mark 0x2/0xffff -j ACCEPT'));
  assert.notEqual(
    ruleKey('-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.124'),
    ruleKey('-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.125'),
  );
  assert.notEqual(ruleKey(ICMP), ruleKey('-p icmp -j DROP'));
});

test('findRule: the DNAT rule among the real PREROUTING chain’s rules, whatever their order; absent when it is not there', () => {
  const real = [
    '-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
    '-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.124',
  ];
  const want = '-d 10.123.123.104/32 -j DNAT --to-destination 172.16.1.124';
  assert.equal(findRule(real, want), real[1]);
  assert.equal(findRule([...real].reverse(), want), real[1]);
  assert.equal(findRule(real.slice(0, 1), want), undefined);
});

test('sysctlValue: tabs, several spaces, a carriage return from an ssh terminal are the same value', () => {
  assert.equal(sysctlValue('32768\t60999'), sysctlValue('32768 60999'));
  assert.equal(sysctlValue('1\r'), '1');
  assert.notEqual(sysctlValue('0'), sysctlValue('1'));
});
