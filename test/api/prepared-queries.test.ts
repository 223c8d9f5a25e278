// Queries compiled once and run with new values (store/prepared.ts), on the test's engine (SQLite, or
// PostgreSQL under with-postgres.ts): the values of each run are the ones bound, constants of the
// query stay, a value holding NUL matches nothing as a built query's does, and a value the query does
// not take is refused when it is compiled.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestStore, type TestStore } from '../helpers/server.ts';
import { prepared } from '../../src/store/prepared.ts';
import { unitOfWork } from '../../src/store/unit-of-work.ts';

let store: TestStore;
before(async () => {
  store = await openTestStore();
});
after(() => store.close());

const insertQuota = prepared((db, row: { project_id: string; resource: string; limit: number }) => db.insertInto('quotas').values(row));
const quotasOf = prepared((db, v: { project: string; resource: string }) =>
  db
    .selectFrom('quotas')
    .select(['resource', 'limit'])
    .where('project_id', '=', v.project)
    .where('resource', '!=', v.resource)
    .orderBy('resource')
    .limit(2),
);

test('each run binds its own values, in a transaction or not, and keeps the constants', async () => {
  await unitOfWork(store.db, async (tx) => {
    await insertQuota(tx, { project_id: 'p1', resource: 'port', limit: 5 });
    await insertQuota(tx, { project_id: 'p1', resource: 'network', limit: 6 });
    await insertQuota(tx, { project_id: 'p1', resource: 'router', limit: 7 });
    await insertQuota(tx, { project_id: 'p2', resource: 'port', limit: 8 });
  });
  assert.deepEqual((await quotasOf(store.db, { project: 'p1', resource: 'router' })).rows, [
    { resource: 'network', limit: 6 },
    { resource: 'port', limit: 5 },
  ]);
  // the constant limit (2) stays
  assert.deepEqual((await quotasOf(store.db, { project: 'p1', resource: 'x' })).rows.length, 2);
  await unitOfWork(store.db, async (tx) => {
    assert.deepEqual((await quotasOf(tx, { project: 'p2', resource: 'x' })).rows, [{ resource: 'port', limit: 8 }]);
  });
});

test('a value holding NUL is a built query: it matches nothing, as stored values hold none', async () => {
  assert.deepEqual((await quotasOf(store.db, { project: 'p1\0', resource: 'x' })).rows, []);
  assert.equal((await quotasOf(store.db, { project: 'p1', resource: 'x' })).rows.length, 2);
});

test('a value the query does not take is refused', async () => {
  const wrong = prepared((db, v: { project: string; unused: string }) =>
    db.selectFrom('quotas').selectAll().where('project_id', '=', v.project),
  );
  await assert.rejects(wrong(store.db, { project: 'p1', unused: 'x' }), /value 'unused' is no parameter/);
});
