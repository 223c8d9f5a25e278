// The few places where the engines differ in DDL or errors, asked of a Kysely instance.
import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

export const isPostgres = (db: Pick<Kysely<unknown>, 'getExecutor'>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

/**
 * An integer key the database numbers itself. On SQLite this is exactly the `integer primary key
 * autoincrement` the released migrations created; PostgreSQL spells it as an identity column.
 */
export const autoIncrementKey =
  (db: Kysely<unknown>) =>
  (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
    isPostgres(db) ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement();
