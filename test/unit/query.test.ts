import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyListQuery, parseListQuery, selectFields } from '../../src/model/query.ts';
import { prepareCreate, prepareUpdate, composeRule } from '../../src/model/attributes.ts';
import { NeutronError } from '../../src/model/errors.ts';
import { networkSpec } from '../../src/networking/networks.ts';
import { authContext } from '../../src/model/context.ts';

const member = authContext({ userId: 'u', userName: 'demo', projectId: 'p1', projectName: 'demo', roles: ['member'], expiresAt: '' });
const admin = authContext({ userId: 'a', userName: 'admin', projectId: 'p0', projectName: 'admin', roles: ['admin'], expiresAt: '' });

const items = ['c', 'a', 'b', 'd'].map((id, i) => ({ id, name: `n${i % 2}`, admin_state_up: i !== 2, shared: false }));

test('repeated filter keys are ORed, different keys ANDed, booleans converted', () => {
  const q = parseListQuery(networkSpec, { name: ['n0', 'n1'], admin_state_up: 'False' });
  assert.deepEqual(
    applyListQuery(networkSpec, items, q, 'u', {}).items.map((i) => i.id),
    ['b'],
  );
});

test('unknown filters and sort keys are refused as Neutron does', () => {
  assert.throws(
    () => parseListQuery(networkSpec, { bogus: 'x' }),
    (e: NeutronError) => e.status === 400 && /\['bogus'\] is invalid attribute for filtering/.test(e.message),
  );
  assert.throws(() => parseListQuery(networkSpec, { sort_key: 'subnets', sort_dir: 'asc' }), /invalid attribute for sort_keys/);
  assert.throws(() => parseListQuery(networkSpec, { limit: '-1' }), /Limit must be an integer 0 or greater/);
});

test('sorting and marker pagination with next/previous links', () => {
  const raw = { sort_key: 'id', sort_dir: 'asc', limit: '2' };
  const p1 = applyListQuery(networkSpec, items, parseListQuery(networkSpec, raw), 'http://x/v2.0/networks', raw);
  assert.deepEqual(
    p1.items.map((i) => i.id),
    ['a', 'b'],
  );
  assert.deepEqual(
    p1.links.map((l) => l.rel),
    ['next'],
  );
  const next = new URL(p1.links[0].href);
  const raw2 = Object.fromEntries(next.searchParams);
  const p2 = applyListQuery(networkSpec, items, parseListQuery(networkSpec, raw2), 'http://x/v2.0/networks', raw2);
  assert.deepEqual(
    p2.items.map((i) => i.id),
    ['c', 'd'],
  );
  assert.deepEqual(
    p2.links.map((l) => l.rel),
    ['previous'],
  );
});

test('a marker the filters leave out pages from its place in the order, both ways', () => {
  const page = (raw: Record<string, string>, markerItem?: Record<string, unknown>) => {
    const p = applyListQuery(networkSpec, items, parseListQuery(networkSpec, raw), 'http://x/v2.0/networks', raw, markerItem);
    return [p.items.map((i) => i.id), p.links.map((l) => l.rel)];
  };
  assert.deepEqual(page({ name: 'n1', limit: '5', marker: 'b' }), [['d'], ['previous']]);
  assert.deepEqual(page({ name: 'n1', limit: '5', marker: 'bb' }, { id: 'bb', name: 'n0' }), [['d'], ['previous']]);
  assert.deepEqual(page({ name: 'n1', limit: '5', marker: 'c', page_reverse: 'True' }), [['a'], ['next']]);
  assert.deepEqual(page({ name: 'n1', limit: '5', marker: 'zz' }), [['a', 'd'], []]);
});

test('fields keep only what was asked', () => {
  assert.deepEqual(selectFields({ id: 1, name: 'x', mtu: 1450 }, ['id', 'mtu']), { id: 1, mtu: 1450 });
});

test('create bodies: unknown, read-only, admin-only and defaults', () => {
  assert.throws(() => prepareCreate(networkSpec, { network: { foo: 1 } }, member), /Unrecognized attribute\(s\) 'foo'/);
  assert.throws(() => prepareCreate(networkSpec, { network: { status: 'DOWN' } }, member), /Attribute 'status' not allowed in POST/);
  assert.throws(() => prepareCreate(networkSpec, { net: {} }, member), /Unable to find 'network' in request body/);
  assert.throws(
    () => prepareCreate(networkSpec, { network: { shared: true } }, member),
    (e: NeutronError) =>
      e.status === 403 &&
      e.type === 'PolicyNotAuthorized' &&
      e.message === '(rule:create_network and rule:create_network:shared) is disallowed by policy',
  );
  assert.throws(
    () => prepareCreate(networkSpec, { network: { admin_state_up: 'maybe' } }, member),
    /Invalid input for admin_state_up. Reason: 'maybe' cannot be converted to boolean./,
  );
  const ok = prepareCreate(networkSpec, { network: { name: 'x', shared: false } }, member);
  assert.equal(ok.project_id, 'p1');
  assert.equal(ok.admin_state_up, true);
  assert.ok(!('mtu' in ok));
  assert.equal(prepareCreate(networkSpec, { network: { shared: true, project_id: 'p9' } }, admin).project_id, 'p9');
  assert.throws(() => prepareCreate(networkSpec, { network: { project_id: 'p9' } }, member), /requires admin/);
});

test('update bodies: read-only attributes refused', () => {
  assert.throws(() => prepareUpdate(networkSpec, { network: { id: 'x' } }, member), /Cannot update read-only attribute id/);
  assert.deepEqual(prepareUpdate(networkSpec, { network: { name: 'y' } }, member), { name: 'y' });
  assert.equal(composeRule('create', 'port', ['a', 'b']), '(rule:create_port and (rule:create_port:a and rule:create_port:b))');
});
