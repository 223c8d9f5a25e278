// Kysely's SQLite driver prepares every query it runs; better-sqlite3's prepare compiles the SQL each
// time, which a profile of port creates put at about a sixth of the server's time. Queries are built
// from a small set of shapes, so the compiled statements are kept, keyed by their SQL text, in a
// bounded least-recently-used cache. A statement is a compiled program only: its parameters are
// bound on every run, and SQLite recompiles it by itself when the schema changes under it.
import type { Database as SqliteFile, Statement } from 'better-sqlite3';

/** Distinct SQL texts kept; lists with many `IN (…)` values make texts of their own, hence a bound. */
export const STATEMENT_CACHE_SIZE = 500;

export function withStatementCache(file: SqliteFile, capacity = STATEMENT_CACHE_SIZE): { close(): void; prepare(sql: string): Statement } {
  const cache = new Map<string, Statement>();
  return {
    close: () => file.close(),
    prepare(sql: string): Statement {
      const hit = cache.get(sql);
      // A statement still stepping through an iterator (a streamed query) cannot run again meanwhile.
      if (hit && !hit.busy) {
        // Map keeps insertion order: moving the hit to the end makes the first key the least recent.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const stmt = file.prepare(sql);
      if (hit) return stmt;
      cache.set(sql, stmt);
      if (cache.size > capacity) cache.delete(cache.keys().next().value!);
      return stmt;
    },
  };
}
