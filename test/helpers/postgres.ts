// A real PostgreSQL for tests: Debian's server binaries, a cluster initialised in a temporary
// directory, started on a free loopback port as an unprivileged user (the `postgres` account when
// the tests run as root: PostgreSQL refuses to run as root), stopped and removed at the end.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeLoopbackPort } from '../../src/lab/server-proc.ts';

export interface PostgresCluster {
  /** Connection URL of the cluster's `postgres` database (superuser `neutrino`, trust auth on loopback). */
  url: string;
  /** The directory of the cluster's Unix socket (its port names the socket file in it). */
  socketDir: string;
  /** Fast shutdown (by PID), then the directory is removed. */
  stop(): Promise<void>;
}

/** The newest PostgreSQL server installed from Debian's packages. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error('PostgreSQL is not installed (Debian package postgresql; scripts/install-deps.sh installs it)');
  return join(root, versions[0], 'bin');
}

/** The account the cluster runs as: ourselves, unless we are root. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function waitReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (e) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

let databases = 0;

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'neutrino-pg-'));
  const data = join(dir, 'data');
  const owner = runAs();
  chmodSync(dir, 0o700);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  try {
    // C collation: byte order, the same order SQLite sorts text in.
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'neutrino', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
      ...as,
      cwd: dir,
      stdio: 'pipe',
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
  }
  const port = await freeLoopbackPort();
  const logFile = join(dir, 'postgres.log');
  const log = openSync(logFile, 'a');
  if (owner) chownSync(logFile, owner.uid, owner.gid);
  // Durability settings off: a test cluster is thrown away, and fsync dominates small transactions.
  const child = spawn(
    join(bin, 'postgres'),
    [
      ...['-D', data, '-p', String(port), '-k', dir],
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...['-c', 'max_connections=300'],
    ],
    { ...as, cwd: dir, stdio: ['ignore', log, log] },
  );
  const url = `postgresql://neutrino@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT'); // fast shutdown: ends sessions, then exits cleanly
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, logFile);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, socketDir: dir, stop };
}

/** The cluster named by NEUTRINO_TEST_POSTGRES (set by test/helpers/with-postgres.ts), if any. */
export function sharedPostgresUrl(): string | null {
  return process.env.NEUTRINO_TEST_POSTGRES || null;
}

/** Runs `work` on one connection to the database at `url`, closed after. */
async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(clusterUrl: string, name: string): string {
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A fresh database on a cluster: empty, or a copy of `template`. Dropping it ends the sessions still
 * open on it.
 */
export async function createDatabase(clusterUrl: string, template?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `neutrino_${process.pid}_${++databases}`;
  const run = (q: string) =>
    withClient(clusterUrl, async (c) => {
      await c.query(q);
    });
  await run(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
  return { url: databaseUrl(clusterUrl, name), drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** The migrated database the test stores of a cluster are copied from (the cluster lives for one run). */
const MIGRATED_TEMPLATE = 'neutrino_migrated_template';
/** Advisory lock key: the test processes sharing a cluster build its template one at a time. */
const TEMPLATE_LOCK = 0x6e657574;
const templates = new Map<string, Promise<void>>();

/**
 * Makes the cluster's migrated template once, whichever test process asks first: an empty database
 * that `migrate` brings up to date (and must leave with no session open), then renamed into place,
 * so a half-built template is never copied.
 */
function ensureTemplate(clusterUrl: string, migrate: (url: string) => Promise<void>): Promise<void> {
  let made = templates.get(clusterUrl);
  if (!made) {
    made = withClient(clusterUrl, async (c) => {
      // Session-level: held until this connection ends, after the template is in place (or the build failed).
      await c.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
      const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [MIGRATED_TEMPLATE]);
      if (exists.rowCount) return;
      const building = `${MIGRATED_TEMPLATE}_${process.pid}`;
      await c.query(`CREATE DATABASE "${building}"`);
      try {
        await migrate(databaseUrl(clusterUrl, building));
        await c.query(`ALTER DATABASE "${building}" RENAME TO "${MIGRATED_TEMPLATE}"`);
      } catch (e) {
        await c.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
        throw e;
      }
    });
    made.catch(() => templates.delete(clusterUrl));
    templates.set(clusterUrl, made);
  }
  return made;
}

/**
 * A fresh database on a cluster holding the latest schema: a copy of the cluster's migrated template
 * (made by `migrate` on first use), far cheaper than migrating each database.
 */
export async function createMigratedDatabase(
  clusterUrl: string,
  migrate: (url: string) => Promise<void>,
): Promise<{ url: string; drop(): Promise<void> }> {
  await ensureTemplate(clusterUrl, migrate);
  return createDatabase(clusterUrl, MIGRATED_TEMPLATE);
}
