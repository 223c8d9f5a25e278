import { test } from 'node:test';
import assert from 'node:assert/strict';
import { itemRenderer } from '../../src/model/item-render.ts';
import { visibleTo } from '../../src/model/attributes.ts';
import { selectFields } from '../../src/model/query.ts';
import { authContext } from '../../src/model/context.ts';
import { portSpec } from '../../src/networking/ports.ts';

const member = authContext({ userId: 'u', userName: 'demo', projectId: 'p1', projectName: 'demo', roles: ['member'], expiresAt: '' });
const admin = authContext({ userId: 'a', userName: 'admin', projectId: 'p0', projectName: 'admin', roles: ['admin'], expiresAt: '' });

const port = (i: number) => ({
  id: `id-${i}`,
  name: '',
  'binding:host_id': 'compute1',
  fixed_ips: [{ subnet_id: 's', ip_address: `10.0.0.${i}` }],
  'binding:profile': { a: i },
  numa_affinity_policy: null,
  device_profile: undefined,
  tags: [],
});
// Items of several shapes in one list: other keys, another order, a key that is no attribute, an own
// `__proto__` (as JSON.parse makes one).
const items: Array<Record<string, unknown>> = [
  port(1),
  port(2),
  { name: 'x', id: 'id-3', 'binding:vif_type': 'bridge' },
  port(4),
  { ...port(5), extra: 1 },
  JSON.parse('{"id":"id-6","__proto__":{"x":1},"binding:host_id":"h"}') as Record<string, unknown>,
  {},
];

test('items render as selectFields(visibleTo(item)): the same keys, values and order', () => {
  for (const ctx of [member, admin]) {
    for (const fields of [null, ['id'], ['fixed_ips', 'id', 'binding:host_id', 'id'], ['__proto__', 'device_profile', 'nothing']]) {
      const render = itemRenderer(portSpec, ctx, fields);
      for (const item of items) {
        const want = selectFields(visibleTo(portSpec, item, ctx), fields);
        const got = render(item);
        assert.deepEqual(Object.keys(got), Object.keys(want), JSON.stringify({ admin: ctx.isAdmin, fields, item }));
        assert.equal(JSON.stringify(got), JSON.stringify(want));
      }
    }
  }
});

test('a member never receives an admin-only attribute', () => {
  const render = itemRenderer(portSpec, member, null);
  for (const item of items) for (const k of ['binding:host_id', 'binding:profile', 'binding:vif_type']) assert.ok(!(k in render(item)));
});
