// Host view deltas, pure: a delta applied to the view it was made from gives the later view exactly
// (entries, order, lists a full view leaves out), a reordered list goes whole, and a delta applied
// to another view is refused rather than misapplied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostView } from '../../src/model/hostview.ts';
import { applyHostViewDelta, DeltaMismatchError, diffHostViews } from '../../src/model/hostview-delta.ts';

/** A view with its keys in the order the server writes them (address groups only when given). */
const view = (revision: number, over: Partial<HostView> = {}): HostView => ({
  host: 'h',
  revision,
  networks: over.networks ?? [],
  subnets: over.subnets ?? [],
  ports: over.ports ?? [],
  remote_ports: over.remote_ports ?? [],
  remote_vteps: over.remote_vteps ?? [],
  security_groups: over.security_groups ?? [],
  ...(over.address_groups ? { address_groups: over.address_groups } : {}),
  dhcp_networks: over.dhcp_networks ?? [],
  dhcp_ports: over.dhcp_ports ?? [],
  routers: over.routers ?? [],
});
const group = (id: string, member_ips: string[]) => ({ id, name: id, stateful: true, rules: [], member_ips });
const same = (a: HostView, b: HostView) => assert.equal(JSON.stringify(a), JSON.stringify(b));

test('entries added, changed and removed in the middle of a list land in their places', () => {
  const before = view(1, { security_groups: ['a', 'b', 'c', 'd', 'e'].map((id) => group(id, [])), dhcp_networks: ['n1', 'n2', 'n3'] });
  const after = view(4, {
    security_groups: [group('a', []), group('b', ['10.0.0.5']), group('bb', []), group('d', []), group('e', []), group('f', [])],
    dhcp_networks: ['n1', 'n3'],
  });
  const delta = diffHostViews(before, after);
  assert.deepEqual(Object.keys(delta.sections).sort(), ['dhcp_networks', 'security_groups']);
  assert.deepEqual(delta.sections.dhcp_networks, { length: 2, set: [], remove: ['n2'] });
  same(applyHostViewDelta(before, delta), after);
  // The view applied to is left as it was.
  assert.equal(before.security_groups.length, 5);
});

test('a list whose kept entries change order is sent whole; an unchanged view gives an empty delta', () => {
  const before = view(1, { dhcp_networks: ['n1', 'n2', 'n3'] });
  const after = view(2, { dhcp_networks: ['n3', 'n1', 'n2'] });
  const delta = diffHostViews(before, after);
  assert.deepEqual(delta.sections, { dhcp_networks: { all: ['n3', 'n1', 'n2'] } });
  same(applyHostViewDelta(before, delta), after);
  assert.deepEqual(diffHostViews(after, view(3, { dhcp_networks: ['n3', 'n1', 'n2'] })), { since: 2, revision: 3, sections: {} });
});

test('address groups, left out of a full view while empty, come and go as the full view has them', () => {
  const before = view(1);
  const after = view(2, { address_groups: [{ id: 'g', addresses: ['10.0.0.0/24'] }] });
  const there = applyHostViewDelta(before, diffHostViews(before, after));
  same(there, after);
  const back = applyHostViewDelta(there, diffHostViews(after, view(3)));
  same(back, view(3));
  assert.equal('address_groups' in back, false);
});

test('a delta made for another view is refused', () => {
  const before = view(1, { dhcp_networks: ['n1', 'n2'] });
  const delta = diffHostViews(before, view(2, { dhcp_networks: ['n1', 'n2', 'n3'] }));
  assert.throws(() => applyHostViewDelta(view(5), delta), DeltaMismatchError);
  // Same revision but other entries: the places do not add up.
  assert.throws(() => applyHostViewDelta(view(1, { dhcp_networks: ['n1', 'n2', 'n4', 'n5'] }), delta), DeltaMismatchError);
});
