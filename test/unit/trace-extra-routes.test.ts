// The tracer and a router's extra routes, on the recorded healthy snapshot (test/fixtures/trace)
// edited: when the reply toward the source takes an extra route, the walk expects that route (its
// device and next hop), ok when the kernel has it, NO_ROUTE when it has not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceFip } from '../../src/trace/walk/fip.ts';
import { contextFrom } from '../../src/trace/run.ts';
import { loadSnapshot } from '../../src/trace/read/snapshot-io.ts';
import type { Snapshot } from '../../src/trace/snapshot.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trace');
const SOURCE = '198.51.100.1';
const ROUTE = { destination: '198.51.100.0/24', nexthop: '10.123.123.50' };

const ROUTE2 = { destination: '198.51.100.0/24', nexthop: '10.123.123.51' };

/** The healthy snapshot with ROUTE on the router, and (when `inKernel`) in its namespace's main table; with ROUTE2 too, one multipath route. */
async function traced(inKernel: boolean, ecmp = false) {
  const snap: Snapshot = await loadSnapshot(join(fixtures, 'healthy'));
  const router = snap.api.routers[0]!;
  router['routes'] = ecmp ? [ROUTE, ROUTE2] : [ROUTE];
  const ns = snap.nodes['controller']!.namespaces[`qrouter-${router.id}`]!;
  if (inKernel) {
    ns.ip = ns.ip.replace(
      /\{"type":"unicast","dst":"default","gateway":"10\.123\.123\.1","dev":"(qg-[0-9a-f-]+)","protocol":"149","scope":"global","flags":\[\]\}/,
      (all, dev: string) =>
        ecmp
          ? `${all},{"type":"unicast","dst":"198.51.100.0/24","protocol":"149","scope":"global","flags":[],"nexthops":[{"gateway":"10.123.123.50","dev":"${dev}","weight":1,"flags":[]},{"gateway":"10.123.123.51","dev":"${dev}","weight":1,"flags":[]}]}`
          : `${all},{"type":"unicast","dst":"198.51.100.0/24","gateway":"10.123.123.50","dev":"${dev}","protocol":"149","scope":"global","flags":[]}`,
    );
    assert.match(ns.ip, /198\.51\.100\.0\/24/);
  }
  return traceFip(contextFrom(snap, 'snapshot healthy + extra route'), '10.123.123.104', { flow: { protocol: 'icmp' }, source: SOURCE });
}

test('the reply follows the extra route when the kernel has it: ok, by its next hop', async () => {
  const r = await traced(true);
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  const route = r.hops.find((h) => h.check === 'route' && h.leg === 'reply' && h.expected['to'] === SOURCE)!;
  assert.equal(route.expected['via'], ROUTE.nexthop);
  assert.match(route.evidence[0]!.line ?? '', /^198\.51\.100\.0\/24 via 10\.123\.123\.50 dev qg-/);
});

test('an extra route missing from the namespace: NO_ROUTE at the reply route', async () => {
  const r = await traced(false);
  assert.equal(r.ok, false);
  assert.equal(r.firstBroken!.reason, 'NO_ROUTE', r.firstBroken!.cause);
  assert.match(r.firstBroken!.cause, /extra route 198\.51\.100\.0\/24 via 10\.123\.123\.50/);
});

test('two next hops: the multipath route in the kernel takes the way', async () => {
  const r = await traced(true, true);
  assert.equal(r.ok, true, JSON.stringify(r.firstBroken));
  const route = r.hops.find((h) => h.check === 'route' && h.leg === 'reply' && h.expected['to'] === SOURCE)!;
  assert.match(route.evidence[0]!.line ?? '', /nexthop via 10\.123\.123\.50 dev qg-\S+ nexthop via 10\.123\.123\.51/);
});
