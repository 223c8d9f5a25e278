// The SQLite statement cache under Kysely's driver: one compiled statement per SQL text, the least
// recently used dropped beyond the bound, a statement busy in an iterator never handed out twice, and
// results the same as without it (parameters bound per run; schema changes seen).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import SQLite from 'better-sqlite3';
import { withStatementCache } from '../../src/store/statement-cache.ts';

function file() {
  const db = new SQLite(':memory:');
  db.exec('create table t (k integer primary key, v text)');
  return db;
}

test('the same SQL text gets the same statement, with its parameters bound on each run', () => {
  const cached = withStatementCache(file());
  const insert = cached.prepare('insert into t (k, v) values (?, ?)');
  insert.run([1, 'a']);
  assert.equal(cached.prepare('insert into t (k, v) values (?, ?)'), insert);
  cached.prepare('insert into t (k, v) values (?, ?)').run([2, 'b']);
  const select = 'select v from t where k = ?';
  assert.deepEqual(cached.prepare(select).all([1]), [{ v: 'a' }]);
  assert.deepEqual(cached.prepare(select).all([2]), [{ v: 'b' }]);
  cached.close();
});

test('beyond its bound the least recently used statement is dropped', () => {
  const cached = withStatementCache(file(), 2);
  const a = cached.prepare('select 1 as a');
  const b = cached.prepare('select 2 as b');
  assert.equal(cached.prepare('select 1 as a'), a); // a is now the more recent
  cached.prepare('select 3 as c'); // drops b
  assert.equal(cached.prepare('select 1 as a'), a);
  assert.notEqual(cached.prepare('select 2 as b'), b);
  cached.close();
});

test('a statement still iterating is not handed out again; a fresh one is', () => {
  const db = file();
  db.exec("insert into t values (1, 'a'), (2, 'b')");
  const cached = withStatementCache(db);
  const sql = 'select v from t order by k';
  const iterating = cached.prepare(sql);
  const rows = iterating.iterate([]);
  assert.deepEqual(rows.next().value, { v: 'a' });
  const other = cached.prepare(sql);
  assert.notEqual(other, iterating);
  assert.deepEqual(other.all([]), [{ v: 'a' }, { v: 'b' }]);
  assert.deepEqual(rows.next().value, { v: 'b' });
  rows.return?.();
  assert.equal(cached.prepare(sql), iterating);
  cached.close();
});

test('a cached statement sees a schema change made after it was compiled', () => {
  const db = file();
  const cached = withStatementCache(db);
  db.exec("insert into t values (1, 'a')");
  assert.deepEqual(cached.prepare('select * from t').all([]), [{ k: 1, v: 'a' }]);
  db.exec("alter table t add column w text default 'x'");
  assert.deepEqual(cached.prepare('select * from t').all([]), [{ k: 1, v: 'a', w: 'x' }]);
  cached.close();
});
