// A real PostgreSQL for tests: Debian's server binaries, a cluster initialised in a temporary
// directory, started on a free loopback port as an unprivileged user (the `postgres` account when
// the tests run as root: PostgreSQL refuses to run as root), stopped and removed at the end.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeLoopbackPort } from '../../src/lab/server-proc.js';

export interface PostgresCluster {
  /** Connection URL of the cluster's `postgres` database (superuser `neutrino`, trust auth on loopback). */
  url: string;
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
  return { url, stop };
}

/** The cluster named by NEUTRINO_TEST_POSTGRES (set by test/helpers/with-postgres.ts), if any. */
export function sharedPostgresUrl(): string | null {
  return process.env.NEUTRINO_TEST_POSTGRES || null;
}

/** A fresh, empty database on a cluster: its URL, and how to drop it (sessions still open are ended). */
export async function createDatabase(clusterUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `neutrino_${process.pid}_${++databases}`;
  const run = async (q: string) => {
    const c = new pg.Client({ connectionString: clusterUrl });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE "${name}"`);
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
