// The port views a server keeps across revisions (networking/port-view-cache.ts), against a real
// store's change feed: a port change drops that port's view, any change that might reach ports
// without naming them drops every view, a view is never lent to a build at an older revision, and
// one read before changes already applied is not kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendChanges } from '../../src/store/changes.ts';
import { unitOfWork } from '../../src/store/unit-of-work.ts';
import { PortViewCache } from '../../src/networking/port-view-cache.ts';
import { openTestStore } from '../helpers/server.ts';
import { sgPort } from '../helpers/sg-view.ts';

const view = (id: string) => sgPort(id, '172.16.1.10', 'fa:16:3e:00:00:01');

test('port view cache: kept across revisions, dropped by the changes that may concern it', async (t) => {
  const store = await openTestStore();
  t.after(() => store.close());
  const { db } = store;
  const append = (resource: string, id: string) =>
    unitOfWork(db, (tx) =>
      appendChanges(tx, [{ resource, resource_id: id, op: 'update', project_id: null, at: new Date().toISOString() }]),
    );
  const head = () =>
    unitOfWork(db, async (tx) =>
      Number(
        (
          await tx
            .selectFrom('changes')
            .select((eb) => eb.fn.max('revision').as('r'))
            .executeTakeFirst()
        )?.r ?? 0,
      ),
    );
  const sync = async (cache: PortViewCache) => {
    const at = await head();
    await unitOfWork(db, (tx) => cache.sync(tx, at));
    return at;
  };

  const cache = new PortViewCache();
  await append('network', 'n');
  let at = await sync(cache);
  const a = view('a');
  const b = view('b');
  cache.put('a', a, at);
  cache.put('b', b, at);
  assert.equal(cache.get('a', at), a, 'lent at the revision it was read at');
  assert.equal(cache.get('a', at - 1), undefined, 'never to a build at an older revision');

  // A change of port a, and changes that leave ports alone: only a's view goes.
  await append('port', 'a');
  await append('floatingip', 'f');
  await append('security_group_rule', 'r');
  at = await sync(cache);
  assert.equal(cache.get('a', at), undefined);
  assert.equal(cache.get('b', at), b, 'the same object, kept');

  // Read before the revision the cache now stands at: not kept (a change in between may concern it).
  cache.put('a', view('a'), at - 1);
  assert.equal(cache.get('a', at), undefined);

  // Any other kind of change may reach ports without naming them: everything goes.
  await append('subnet', 's');
  at = await sync(cache);
  assert.equal(cache.get('b', at), undefined);
  assert.equal(cache.size, 0);

  // A cache that has not followed the feed from the start knows nothing to keep.
  const late = new PortViewCache();
  late.put('b', b, 0);
  at = await sync(late);
  assert.equal(late.get('b', at), undefined);
});
