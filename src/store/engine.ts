// Which SQL engine holds the state: Neutron's `[database] connection` URL (SQLAlchemy's form), or
// the embedded SQLite file in the state directory when none is given.
export type Engine = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** The connection cannot be used; the message is one line for the CLI. */
export class DatabaseUrlError extends Error {}

/**
 * `postgresql://user:pass@host:5432/neutron` (also `postgres://` and SQLAlchemy's
 * `postgresql+psycopg2://`, whose driver part names a Python library and means nothing here), or
 * `sqlite:////abs/path.db` (SQLAlchemy: three slashes, then the path).
 */
export function parseDatabaseUrl(connection: string): Engine {
  const m = /^([a-z][a-z0-9]*)(?:\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(connection.trim());
  const scheme = m?.[1].toLowerCase();
  if (m && (scheme === 'postgresql' || scheme === 'postgres')) {
    let url: URL;
    try {
      url = new URL(`postgresql://${m[2]}`);
    } catch {
      throw new DatabaseUrlError(`invalid database connection '${redactPassword(connection)}': not a URL`);
    }
    if (!url.pathname || url.pathname === '/')
      throw new DatabaseUrlError(`database connection '${redactPassword(connection)}' names no database`);
    return { kind: 'postgres', url: url.toString() };
  }
  if (m && scheme === 'sqlite') {
    const path = m[2].replace(/^\//, '');
    if (!path.startsWith('/'))
      throw new DatabaseUrlError(`database connection '${connection}' must name an absolute file: sqlite:////path/to/file.db`);
    return { kind: 'sqlite', file: path };
  }
  throw new DatabaseUrlError(
    `unsupported database connection '${redactPassword(connection)}': neutrino stores its state in PostgreSQL (postgresql://user:password@host/database) or SQLite (sqlite:////path/file.db)`,
  );
}

/** The URL with its password replaced, for logs and error messages. */
export function redactPassword(connection: string): string {
  return connection.replace(/^([^:/]+(?:\+[^:/]+)?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
