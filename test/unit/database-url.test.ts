// `[database] connection` / `--db`: the forms Neutron's configurations use (SQLAlchemy URLs, local
// sockets as libpq takes them), what the PostgreSQL client then connects to, and the refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { DatabaseUrlError, LIBPQ_SOCKET_DIR, parseDatabaseUrl, redactPassword } from '../../src/store/engine.ts';

interface ClientParameters {
  host: string;
  port: number;
  user: string;
  password: string | null;
  database: string;
}

/** What the PostgreSQL client (pg) makes of the parsed connection. */
function clientSees(connection: string) {
  const engine = parseDatabaseUrl(connection);
  assert.equal(engine.kind, 'postgres');
  // The client's own reading of its connection string (no connection is made).
  const c = (
    new pg.Client({ connectionString: engine.kind === 'postgres' ? engine.url : '' }) as unknown as {
      connectionParameters: ClientParameters;
    }
  ).connectionParameters;
  return { host: c.host, port: c.port, user: c.user, password: c.password || undefined, database: c.database };
}

test('a host and port, with SQLAlchemy driver names ignored', () => {
  for (const scheme of ['postgresql', 'postgres', 'postgresql+psycopg2', 'postgresql+pg8000'])
    assert.deepEqual(clientSees(`${scheme}://neutron:s%40cret@db.example:5433/neutron`), {
      host: 'db.example',
      port: 5433,
      user: 'neutron',
      password: 's@cret',
      database: 'neutron',
    });
});

test("a local socket in SQLAlchemy's form: credentials, no host, the directory in host=", () => {
  assert.deepEqual(clientSees('postgresql+psycopg2://neutron:pw@/neutron?host=/run/postgresql&port=5433'), {
    host: '/run/postgresql',
    port: 5433,
    user: 'neutron',
    password: 'pw',
    database: 'neutron',
  });
  // Parameters given in the query win over the credentials' place.
  assert.equal(clientSees('postgresql://neutron@/neutron?host=/tmp/pg&user=other').user, 'other');
  assert.deepEqual(clientSees('postgresql:///neutron?host=/tmp/pg&user=neutron'), {
    host: '/tmp/pg',
    port: 5432,
    user: 'neutron',
    password: undefined,
    database: 'neutron',
  });
});

test("no host at all is libpq's default socket directory, as Neutron's driver would take it", () => {
  assert.equal(clientSees('postgresql://neutron:pw@/neutron').host, LIBPQ_SOCKET_DIR);
  assert.equal(clientSees('postgresql:///neutron').host, LIBPQ_SOCKET_DIR);
  assert.equal(clientSees('postgresql://localhost/neutron').host, 'localhost');
});

test('SQLite: an absolute file after three slashes', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:////var/lib/neutrino/state.db'), { kind: 'sqlite', file: '/var/lib/neutrino/state.db' });
  assert.throws(() => parseDatabaseUrl('sqlite:///state.db'), /must name an absolute file/);
});

test('refusals name the problem in one line and never show the password', () => {
  const refused = (connection: string, reason: RegExp) => {
    assert.throws(
      () => parseDatabaseUrl(connection),
      (e: Error) => e instanceof DatabaseUrlError && reason.test(e.message) && !e.message.includes('hunter2') && !e.message.includes('\n'),
    );
  };
  refused('mysql+pymysql://neutron:hunter2@db/neutron', /unsupported database connection .*neutron:\*\*\*@db/);
  refused('postgresql://neutron:hunter2@db.example', /names no database/);
  refused('postgresql://neutron:hunter2@/', /names no database/);
  refused('postgresql://neutron:hunter2@db:notaport/neutron', /not a URL/);
  refused('neutron', /unsupported database connection/);
});

test('the password is redacted in both places it can be written', () => {
  assert.equal(redactPassword('postgresql://neutron:hunter2@db/neutron'), 'postgresql://neutron:***@db/neutron');
  assert.equal(
    redactPassword('postgresql:///neutron?host=%2Frun&password=hunter2&user=n'),
    'postgresql:///neutron?host=%2Frun&password=***&user=n',
  );
  const engine = parseDatabaseUrl('postgresql://neutron:hunter2@/neutron?host=/run/postgresql');
  assert.ok(engine.kind === 'postgres' && !redactPassword(engine.url).includes('hunter2'));
});
