// Which SQL engine holds the state: Neutron's `[database] connection` URL (SQLAlchemy's form), or
// the embedded SQLite file in the state directory when none is given.
export type Engine = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** Where Debian's libpq looks for the server's socket when a connection names no host. */
export const LIBPQ_SOCKET_DIR = '/var/run/postgresql';

/** The connection cannot be used; the message is one line for the CLI. */
export class DatabaseUrlError extends Error {}

/**
 * `postgresql://user:pass@host:5432/neutron` (also `postgres://` and SQLAlchemy's
 * `postgresql+psycopg2://`, whose driver part names a Python library and means nothing here), a local
 * socket as SQLAlchemy and libpq write it (`postgresql://user:pass@/neutron?host=/run/postgresql`, or
 * `postgresql:///neutron?host=…&user=…`), or `sqlite:////abs/path.db` (SQLAlchemy: three slashes, then
 * the path).
 */
export function parseDatabaseUrl(connection: string): Engine {
  const m = /^([a-z][a-z0-9]*)(?:\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(connection.trim());
  const scheme = m?.[1].toLowerCase();
  if (m && (scheme === 'postgresql' || scheme === 'postgres')) {
    let url: URL;
    try {
      url = new URL(`postgresql://${withoutEmptyHostCredentials(m[2])}`);
    } catch {
      throw new DatabaseUrlError(`invalid database connection '${redactPassword(connection)}': not a URL`);
    }
    if (!url.pathname || url.pathname === '/')
      throw new DatabaseUrlError(`database connection '${redactPassword(connection)}' names no database`);
    // No host at all: libpq (Neutron's driver) takes its default socket directory, the client here
    // would take localhost over TCP.
    if (!url.hostname && !url.searchParams.has('host')) url.searchParams.set('host', LIBPQ_SOCKET_DIR);
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

/**
 * `user:pass@/db?host=/run/postgresql` (credentials, no host: the socket comes from `host=`) is
 * what SQLAlchemy and libpq accept, and what the URL standard refuses; the credentials move to the
 * `user` and `password` parameters, which the PostgreSQL client reads alike.
 */
function withoutEmptyHostCredentials(rest: string): string {
  const m = /^([^@/?#]*)@([/?#].*|)$/.exec(rest);
  if (!m) return rest;
  const [user, password] = m[1].split(/:(.*)/s, 2).map((part) => decodeURIComponent(part));
  const [beforeQuery, query = ''] = m[2].split(/\?(.*)/s, 2);
  const params = new URLSearchParams(query);
  if (user && !params.has('user')) params.set('user', user);
  if (password !== undefined && !params.has('password')) params.set('password', password);
  return `${beforeQuery.startsWith('/') ? beforeQuery : `/${beforeQuery}`}?${params}`;
}

/** The URL with its password replaced, for logs and error messages. */
export function redactPassword(connection: string): string {
  return connection.replace(/^([^:/]+(?:\+[^:/]+)?:\/\/[^:@/]*:)[^@/]*@/, '$1***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
