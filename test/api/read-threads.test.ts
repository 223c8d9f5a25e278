// Reader threads (store/read-threads.ts) on a real SQLite file: a read split into parts that run at
// once on two threads is accepted only when every part read the same state (the commits its snapshot
// holds, store/commit-clock.ts); a commit under way makes the parts read again, then give up (null:
// the caller reads on the event loop). And through the API: a whole port list is read by the threads,
// and while one client creates ports one after the other, every list another client takes holds
// exactly the first ports created — never a later port without an earlier one, as two parts read at
// two moments could give. On PostgreSQL (no file to share) there are no reader threads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sql } from 'kysely';
import { newCommitClock, type CommitClock } from '../../src/store/commit-clock.ts';
import { ReadThreads } from '../../src/store/read-threads.ts';
import { readThreadsOf } from '../../src/store/read-pool.ts';
import { isPostgres } from '../../src/store/dialect.ts';
import { DB_FILE } from '../../src/store/state-dir.ts';
import { sharedPostgresUrl } from '../helpers/postgres.ts';
import { openTestStore, startTestServer, type TestServer, type TestStore } from '../helpers/server.ts';
import { api, adminToken, issueToken, type Api } from '../helpers/client.ts';
import { freePort, listening, spawnServer, stopServer } from '../helpers/server-process.ts';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';

const BEGUN = 0;
const ENDED = 1;
const text = (bytes: Uint8Array[] | null) => bytes && bytes.map((b) => Buffer.from(b).toString());

describe('reader threads on one snapshot', { skip: sharedPostgresUrl() ? 'PostgreSQL: no file to share' : false }, () => {
  let store: TestStore;
  let clock: CommitClock;
  let threads: ReadThreads;
  const parts = [
    { sql: "select json_quote(name) from scratch where name < 'm' order by name", parameters: [] },
    { sql: 'select json_quote(name) from scratch where name >= ? order by name', parameters: ['m'] },
  ];

  before(async () => {
    store = await openTestStore();
    await sql`create table scratch (name text not null)`.execute(store.db);
    for (const name of ['beta', 'alpha', 'mu', 'zeta', 'é']) await sql`insert into scratch (name) values (${name})`.execute(store.db);
    clock = newCommitClock();
    threads = new ReadThreads(join(store.stateDir, DB_FILE), clock, 2);
  });
  after(async () => {
    await threads?.close();
    await store.close();
  });

  test('two parts read at once, each joined by commas and encoded; counted as one consistent read', async () => {
    assert.deepEqual(text(await threads.onOneSnapshot(parts)), ['"alpha","beta"', '"mu","zeta","é"']);
    assert.deepEqual(threads.stats, { consistent: 1, retried: 0, gaveUp: 0 });
    // A part without rows is an empty run.
    assert.deepEqual(text(await threads.onOneSnapshot([{ sql: "select name from scratch where name = 'none'", parameters: [] }])), ['']);
  });

  test('a commit under way: the parts read again, then null; once it has ended they agree again', async () => {
    const before = { ...threads.stats };
    Atomics.add(clock, BEGUN, 1);
    assert.equal(await threads.onOneSnapshot(parts), null);
    assert.deepEqual(threads.stats, { consistent: before.consistent, retried: before.retried + 3, gaveUp: before.gaveUp + 1 });
    Atomics.add(clock, ENDED, 1);
    assert.ok(await threads.onOneSnapshot(parts));
    assert.equal(threads.stats.consistent, before.consistent + 1);
  });

  test("a part's SQL error is the caller's error; the threads serve the next read", async () => {
    await assert.rejects(threads.onOneSnapshot([{ sql: 'select name from nowhere', parameters: [] }]), /no such table: nowhere/);
    assert.ok(await threads.onOneSnapshot(parts));
  });

  test('closed: the reads already asked are answered, the threads end by themselves, later reads are refused', async () => {
    const closing = new ReadThreads(join(store.stateDir, DB_FILE), clock, 2);
    const asked = closing.onOneSnapshot(parts);
    await closing.close();
    assert.deepEqual(text(await asked), ['"alpha","beta"', '"mu","zeta","é"']);
    await assert.rejects(closing.onOneSnapshot(parts), /closed/);
    assert.equal(closing.ready(), false);
  });

  test('closed while the threads start (loading SQLite): they end once started, and the process lives on', async () => {
    for (let i = 0; i < 5; i++) {
      const starting = new ReadThreads(join(store.stateDir, DB_FILE), clock, 2);
      assert.equal(starting.ready(), false);
      await starting.close();
    }
  });
});

describe('whole port lists read by the threads', () => {
  let srv: TestServer;
  let admin: Api;
  let network: string;

  before(async () => {
    srv = await startTestServer();
    admin = api(srv.url, await adminToken(srv.url));
    network = (await admin.post('/networks', { network: { name: 'threads' } })).body.network.id;
    const subnet = await admin.post('/subnets', { subnet: { network_id: network, ip_version: 4, cidr: '10.61.0.0/22' } });
    assert.equal(subnet.status, 201);
  });
  after(() => srv.close());

  test('the first whole list does not wait for the threads to start: read on the event loop meanwhile', async (t) => {
    const threads = readThreadsOf(srv.db);
    if (!threads) return t.skip(isPostgres(srv.db) ? 'PostgreSQL: no reader threads' : 'one core: no reader threads');
    const list = async () => {
      const r = await admin.get('/ports');
      assert.equal(r.status, 200);
      return r.body.ports.length as number;
    };
    const r = await admin.post('/ports', { port: { network_id: network, device_id: 'first' } });
    assert.equal(r.status, 201);
    assert.equal(await list(), 1);
    assert.deepEqual(threads.stats, { consistent: 0, retried: 0, gaveUp: 0 });
    while (!threads.ready()) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(await list(), 1);
    assert.deepEqual(threads.stats, { consistent: 1, retried: 0, gaveUp: 0 });
  });

  test('every list taken while ports are created one by one holds exactly the first ones created', async (t) => {
    const threads = readThreadsOf(srv.db);
    if (!threads) return t.skip(isPostgres(srv.db) ? 'PostgreSQL: no reader threads' : 'one core: no reader threads');
    const CREATES = 300;
    const consistent = threads.stats.consistent;
    let created = 0;
    const creating = (async () => {
      for (; created < CREATES; created++) {
        const r = await admin.post('/ports', { port: { network_id: network, device_id: `seq-${created}` } });
        assert.equal(r.status, 201);
      }
    })();
    let lists = 0;
    while (created < CREATES) {
      const r = await admin.get('/ports');
      assert.equal(r.status, 200);
      const seen = (r.body.ports as Array<{ device_id: string }>)
        .filter((p) => p.device_id.startsWith('seq-'))
        .map((p) => Number(p.device_id.slice('seq-'.length)))
        .sort((a, b) => a - b);
      assert.deepEqual(
        seen,
        seen.map((_, i) => i),
        `list ${lists}: ports created later are listed without earlier ones`,
      );
      lists++;
    }
    await creating;
    assert.ok(lists > 10, `${lists} lists`);
    assert.ok(threads.stats.consistent > consistent, 'the threads read the lists');
  });
});

test('a server process told to stop while its reader threads start or read exits 0, without a fatal error', async (t) => {
  if (sharedPostgresUrl()) return t.skip('PostgreSQL: no reader threads');
  if (availableParallelism() < 2) return t.skip('one core: no reader threads');
  // Ending a thread inside a call into SQLite (loading it, or a query) aborts the whole process.
  for (const wait of [0, 5, 60]) {
    const dir = mkdtempSync(join(tmpdir(), 'neutrino-threads-'));
    const server = spawnServer(dir, await freePort(), { NEUTRINO_ADMIN_PASSWORD: 'pw' });
    try {
      await listening(server);
      const token = await issueToken(server.url, 'admin', 'pw', 'admin');
      const lists = Array.from({ length: 3 }, () =>
        fetch(`${server.url}/v2.0/ports`, { headers: { 'x-auth-token': token } }).then(
          (r) => r.status,
          () => 'refused',
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
      await stopServer(server, 'SIGTERM');
      assert.equal(await server.exited, 0, server.output());
      assert.doesNotMatch(server.output(), /FATAL|Assertion failed/);
      for (const status of await Promise.all(lists)) assert.ok(status === 200 || status === 'refused', String(status));
    } finally {
      await stopServer(server, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
