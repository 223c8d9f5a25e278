// Hearing of commits made by other server processes on the same PostgreSQL database: one dedicated
// connection LISTENs on the change feed's channel. On SQLite there is one server process, which
// hears of its own commits directly, so there is nothing to listen to.
import pg from 'pg';
import { CHANGES_CHANNEL } from './changes.ts';
import { postgresUrlOf, type Db } from './db.ts';

export interface ChangeListener {
  close(): Promise<void>;
}

/**
 * Calls `onCommit` whenever any process commits changes to the feed. A lost connection is
 * re-established (with `onCommit` called once on reconnecting, since commits may have been missed).
 */
export async function listenForCommits(db: Db, onCommit: () => void, onError: (e: Error) => void): Promise<ChangeListener> {
  const url = postgresUrlOf(db);
  if (!url) return { close: async () => undefined };
  let closed = false;
  let client: pg.Client | null = null;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => n.channel === CHANGES_CHANNEL && onCommit());
    c.on('error', (e) => {
      onError(e);
      client = null;
      void c.end().catch(() => undefined);
      if (!closed) setTimeout(() => void reconnect(), 1000).unref();
    });
    await c.connect();
    await c.query(`LISTEN ${CHANGES_CHANNEL}`);
    client = c;
  };
  const reconnect = async () => {
    if (closed) return;
    try {
      await connect();
      onCommit();
    } catch (e) {
      onError(e as Error);
      if (!closed) setTimeout(() => void reconnect(), 1000).unref();
    }
  };
  await connect();
  return {
    async close() {
      closed = true;
      await client?.end().catch(() => undefined);
    },
  };
}
