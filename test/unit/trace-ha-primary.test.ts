// The tracer reads which node holds an HA router as primary from the node's router namespace: an
// address on `ha-` besides the HA ports' own (keepalived's primary VIP), whoever built the router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostDump } from '../helpers/trace-dump.ts';
import { primaryRoutersOn } from '../../src/trace/expect/ha-primary.ts';
import type { ApiResources, NodeDump } from '../../src/trace/snapshot.ts';

const ROUTER = '11111111-2222-4333-8444-555555555555';
const HA_PORT = 'e5e5e5e5-1111-4222-8333-944445555666';
const HA_DEV = 'ha-e5e5e5e5-11';

const api = (ha: boolean): ApiResources => ({
  networks: [],
  subnets: [],
  ports: [
    {
      id: HA_PORT,
      device_id: ROUTER,
      device_owner: 'network:router_ha_interface',
      fixed_ips: [{ subnet_id: 's', ip_address: '169.254.192.7' }],
    },
  ],
  routers: [{ id: ROUTER, ha }],
  floatingips: [],
  security_groups: [],
  agents: [],
  router_hosts: {},
  dhcp_hosts: {},
});

/** A node whose router namespace has `ha-` with `addresses`. */
function node(addresses: string[] | null): NodeDump {
  const dump = hostDump('network2', null, []);
  if (!addresses) return dump;
  const raw = hostDump('network2', null, [[HA_DEV, null]]).namespaces['']!;
  const [links, addrs, ...rest] = raw.ip.split('\n');
  const parsed = JSON.parse(addrs!) as Array<{ addr_info: unknown[] }>;
  parsed[0]!.addr_info = addresses.map((a) => ({
    family: a.includes(':') ? 'inet6' : 'inet',
    local: a.split('/')[0],
    prefixlen: Number(a.split('/')[1]),
  }));
  dump.namespaces[`qrouter-${ROUTER}`] = { ...raw, ip: [links, JSON.stringify(parsed), ...rest].join('\n') };
  return dump;
}

test('an HA router is primary where ha- holds more than the HA port’s address', () => {
  assert.deepEqual([...primaryRoutersOn(node(['169.254.192.7/18', '169.254.0.7/24']), api(true))], [ROUTER]);
  assert.deepEqual([...primaryRoutersOn(node(['169.254.192.7/18']), api(true))], [], 'standby: the HA port address only');
  assert.deepEqual(
    [...primaryRoutersOn(node(['169.254.192.7/18', 'fe80::f816:3eff:fe24:9f83/64']), api(true))],
    [],
    'the kernel link-local on every node',
  );
  assert.deepEqual([...primaryRoutersOn(node(null), api(true))], [], 'no namespace read there');
  assert.deepEqual([...primaryRoutersOn(node(['169.254.192.7/18', '169.254.0.7/24']), api(false))], [], 'not an HA router');
});
