// Metering label rules as Neutron's iptables metering driver writes them (_prepare_rule): the
// deprecated remote prefix is the source of egress and the destination of ingress; source and
// destination prefixes match as given, either or both; excluded rules RETURN first; IPv6 is left out.
// The agent reads (and zeroes) a label chain by listing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meteringChains, meterLabelChain, meterRulesChain } from '../../src/planner/metering.ts';
import type { MeteringRuleView } from '../../src/model/hostview.ts';
import { router } from '../helpers/router-view.ts';
import { parseListedCounters } from '../../src/agent/metering.ts';

const LABEL = 'c0ffee00-1111-4222-8333-444455556666';
const rule = (over: Partial<MeteringRuleView>): MeteringRuleView => ({
  id: 'r',
  direction: 'egress',
  excluded: false,
  remote_ip_prefix: null,
  source_ip_prefix: null,
  destination_ip_prefix: null,
  ...over,
});

test('metering rules: legacy remote prefix, source and/or destination, excluded first, IPv6 skipped', () => {
  const r = router({
    metering_labels: [
      {
        id: LABEL,
        rules: [
          rule({ remote_ip_prefix: '0.0.0.0/0' }),
          rule({ direction: 'ingress', remote_ip_prefix: '192.0.2.0/24' }),
          rule({ source_ip_prefix: '172.16.1.0/24', destination_ip_prefix: '203.0.113.7/32' }),
          rule({ direction: 'ingress', destination_ip_prefix: '172.16.1.3/32' }),
          rule({ excluded: true, destination_ip_prefix: '10.0.0.5/8' }),
          rule({ source_ip_prefix: '2001:db8::/64' }),
        ],
      },
    ],
  });
  const chains = Object.fromEntries(meteringChains(r).map((c) => [c.name, c.rules]));
  const qg = /-[io] (qg-\S+)/.exec(chains[meterRulesChain(LABEL)]![0]!)![1];
  const l = meterLabelChain(LABEL);
  assert.deepEqual(chains[meterRulesChain(LABEL)], [
    `-d 10.0.0.0/8 -o ${qg} -j RETURN`,
    `-o ${qg} -j ${l}`,
    `-d 192.0.2.0/24 -i ${qg} -j ${l}`,
    `-s 172.16.1.0/24 -d 203.0.113.7/32 -o ${qg} -j ${l}`,
    `-d 172.16.1.3/32 -i ${qg} -j ${l}`,
  ]);
  assert.deepEqual(chains[l], ['']);
});

test('the agent reads a label chain as get_traffic_counters does: `iptables -L -n -v -x` rows summed, titles skipped', () => {
  const listing = [
    `Chain ${meterLabelChain(LABEL)} (2 references)`,
    '    pkts      bytes target     prot opt in     out     source               destination',
    '      12     1008            all  --  *      *       0.0.0.0/0            0.0.0.0/0',
    '       3      252            all  --  *      *       0.0.0.0/0            0.0.0.0/0',
    '',
  ].join('\n');
  assert.deepEqual(parseListedCounters(listing), { packets: 15, bytes: 1260 });
  assert.deepEqual(parseListedCounters(listing.split('\n').slice(0, 2).join('\n')), { packets: 0, bytes: 0 });
});
