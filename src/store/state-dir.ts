// Keeps the state directory private: the database holds password hashes and tokens, so only the
// server's user may read it. A fresh directory is made 0700 and the database 0600; an existing one
// that other users can reach is tightened (with a warning), or refused when tightening is unsafe or fails.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DB_FILE = 'neutrino.db';
/** Files the server itself makes in the state directory; anything else there is someone else's. */
const OWN_FILES = new Set([
  DB_FILE,
  `${DB_FILE}-wal`,
  `${DB_FILE}-shm`,
  `${DB_FILE}-journal`,
  'neutrino.lock',
  'neutrino.lock-journal',
  'neutrino.pid',
]);

/** The state directory cannot be made private; the message is one line for the CLI. */
export class StateDirError extends Error {}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');
const othersCanReach = (mode: number) => (mode & 0o077) !== 0;

function tighten(path: string, mode: number, what: string): void {
  try {
    chmodSync(path, mode);
  } catch (e) {
    throw new StateDirError(`${what} ${path} is accessible to other users and cannot be made private: ${(e as Error).message}`);
  }
}

/**
 * Creates the directory 0700 or checks an existing one. Tightening a directory that holds files
 * neutrino did not make (e.g. --state-dir /tmp) would change someone else's directory: refused.
 * Returns the warnings to log.
 */
export function securePrivateDir(dir: string): string[] {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return [];
  }
  const st = statSync(dir);
  if (!st.isDirectory()) throw new StateDirError(`state directory ${dir} is not a directory`);
  if (!othersCanReach(st.mode)) return [];
  const foreign = readdirSync(dir).filter((f) => !OWN_FILES.has(f));
  if (foreign.length) {
    throw new StateDirError(
      `state directory ${dir} is accessible to other users (mode ${octal(st.mode)}) and holds files neutrino did not make (${foreign.slice(0, 3).join(', ')}); chmod 0700 it or choose another --state-dir`,
    );
  }
  tighten(dir, 0o700, 'state directory');
  return [`state directory ${dir} was accessible to other users (mode ${octal(st.mode)}); made it 0700`];
}

/**
 * The database and its -wal/-shm files: a missing database is created empty 0600 first, because
 * SQLite gives the -wal and -shm files the database's own mode. Returns the warnings to log.
 */
export function securePrivateDbFiles(dir: string): string[] {
  const db = join(dir, DB_FILE);
  if (!existsSync(db)) closeSync(openSync(db, 'a', 0o600));
  const warnings: string[] = [];
  for (const file of [db, `${db}-wal`, `${db}-shm`]) {
    if (!existsSync(file)) continue;
    const mode = statSync(file).mode;
    if (!othersCanReach(mode)) continue;
    tighten(file, 0o600, 'database file');
    warnings.push(`database file ${file} was accessible to other users (mode ${octal(mode)}); made it 0600`);
  }
  return warnings;
}
