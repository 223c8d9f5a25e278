// The read-only connections of a SQLite file store: they see every committed write, refuse writes,
// read while the writer holds a transaction open, and spread concurrent reads; a store in memory
// reads on its own handle; whole lists leave one connection to the short reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../src/store/db.ts';
import { READERS, withReader } from '../../src/store/read-pool.ts';
import { unitOfWork } from '../../src/store/unit-of-work.ts';

const quota = (project_id: string) => ({ project_id, resource: 'port', limit: 7 });
const quotasOf = (db: Db) => db.selectFrom('quotas').select('project_id').orderBy('project_id').execute();

async function withFileStore(fn: (db: Db) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-read-pool-'));
  const db = await openDb({ stateDir: dir });
  try {
    await fn(db);
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a reader sees what was committed, and not what is still in an open transaction', () =>
  withFileStore(async (db) => {
    await unitOfWork(db, (tx) => tx.insertInto('quotas').values(quota('p1')).execute());
    await withReader(db, async (reader) => {
      assert.notEqual(reader, db);
      assert.deepEqual(await quotasOf(reader), [{ project_id: 'p1' }]);
    });
    await unitOfWork(db, async (tx) => {
      await tx.insertInto('quotas').values(quota('p2')).execute();
      // The writer's transaction is open: the reader neither waits for it nor sees it.
      assert.deepEqual(await withReader(db, quotasOf), [{ project_id: 'p1' }]);
    });
    assert.deepEqual(await withReader(db, quotasOf), [{ project_id: 'p1' }, { project_id: 'p2' }]);
  }));

test('a reader refuses writes', () =>
  withFileStore(async (db) => {
    await withReader(db, async (reader) => {
      await assert.rejects(reader.insertInto('quotas').values(quota('p1')).execute(), /readonly/);
    });
  }));

test('concurrent reads take different connections', () =>
  withFileStore(async (db) => {
    const seen = new Set<Db>();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const reads = [1, 2, 3].map(() =>
      withReader(db, async (reader) => {
        seen.add(reader);
        await held;
      }),
    );
    release();
    await Promise.all(reads);
    assert.equal(seen.size, 3);
  }));

test('long reads never take the last connection: a short read finds it free while lists hold the others', () =>
  withFileStore(async (db) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const longSeen = new Set<Db>();
    const lists = Array.from({ length: READERS * 2 }, () =>
      withReader(
        db,
        async (reader) => {
          longSeen.add(reader);
          await held;
        },
        true,
      ),
    );
    const short = await withReader(db, async (reader) => reader);
    assert.equal(longSeen.size, READERS - 1);
    assert.ok(!longSeen.has(short), 'the short read took a connection a list holds');
    release();
    await Promise.all(lists);
  }));

test('a store in memory reads on its own handle', async () => {
  const db = await openDb({ stateDir: ':memory:' });
  try {
    await withReader(db, async (reader) => assert.equal(reader, db));
  } finally {
    await db.destroy();
  }
});
