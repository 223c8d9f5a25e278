// One server per state directory. The lock is an exclusive SQLite lock (an fcntl lock underneath)
// on neutrino.lock, held for the process's life: the kernel drops it when the process dies, so a
// server killed with SIGKILL never blocks the next start and a reused PID cannot fake a holder.
// neutrino.pid beside it names the holder, for the refusal message only.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';

export const LOCK_FILE = 'neutrino.lock';
export const PID_FILE = 'neutrino.pid';

/**
 * The connections that hold locks, until released. better-sqlite3 closes a connection it garbage
 * collects, which would drop the lock while the process lives on: the lock must not depend on the
 * caller keeping its handle.
 */
const held = new Set<SQLite.Database>();

/** Another server holds the state directory; the message is one line naming its PID. */
export class StateDirLockedError extends Error {}

export interface StateLock {
  /** Releases the lock and removes the PID file (clean exit). */
  release(): void;
}

export function lockStateDir(dir: string): StateLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, LOCK_FILE);
  const pidPath = join(dir, PID_FILE);
  closeSync(openSync(lockPath, 'a', 0o600));
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting.
  const conn = new SQLite(lockPath, { timeout: 0 });
  try {
    conn.pragma('locking_mode = EXCLUSIVE');
    conn.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    conn.close();
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
    throw new StateDirLockedError(`state directory ${dir} is in use by another neutrino server (${holder(pidPath)}); stop it first`);
  }
  writeFileSync(pidPath, `${process.pid}\n`, { mode: 0o600 });
  held.add(conn);
  return {
    release() {
      if (!held.delete(conn)) return;
      rmSync(pidPath, { force: true });
      conn.close();
    },
  };
}

function holder(pidPath: string): string {
  try {
    const pid = readFileSync(pidPath, 'utf8').trim();
    if (/^\d+$/.test(pid)) return `pid ${pid}`;
  } catch {
    /* the holder has not written it yet */
  }
  return 'pid unknown';
}
