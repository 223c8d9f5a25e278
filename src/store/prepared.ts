// Queries of the hottest paths (a port create runs about a dozen) built and compiled once per engine
// rather than on every run. Kysely otherwise builds the operation nodes, walks them with its compiler
// and concatenates a new SQL text, whose hash SQLite's statement cache then computes again: about
// 5 µs a query, more than SQLite takes to run most of them. The query is built once with a stand-in
// for each value; a run puts its values in the stand-ins' places and runs the kept SQL text.
import { randomUUID } from 'node:crypto';
import { createQueryId, type Compilable, type CompiledQuery, type QueryResult } from 'kysely';
import type { Reader } from './unit-of-work.ts';

interface Compiled<R> {
  query: CompiledQuery<R>;
  /** For each parameter of the query: the name of the value it takes, or null for a constant of the query. */
  slots: Array<string | null>;
}

/** Values the kept text cannot take as they are: PostgreSQL's NUL plugin rewrites comparisons with NUL; an absent value drops its column from an insert. */
const needsBuilding = (v: unknown) => v === undefined || (typeof v === 'string' && v.includes('\0'));

function compile<V extends object, R>(db: Reader, build: (db: Reader, values: V) => Compilable<R>, names: string[]): Compiled<R> {
  const tag = randomUUID();
  const byStandIn = new Map(names.map((name) => [`\u0001${tag}:${name}`, name]));
  const query = build(db, Object.fromEntries([...byStandIn].map(([standIn, name]) => [name, standIn])) as unknown as V).compile();
  const slots = query.parameters.map((p) => (typeof p === 'string' ? (byStandIn.get(p) ?? null) : null));
  for (const name of names) if (!slots.includes(name)) throw new Error(`prepared query: value '${name}' is no parameter of ${query.sql}`);
  return { query, slots };
}

/**
 * `build` as a query compiled once per engine (Kysely instance). Every value it uses must come from
 * `values` and be passed through to the query as it is (no arithmetic on it, no lists); every call
 * gives the same names. Runs the query inside `db` (a transaction or a database) with `values`.
 */
export function prepared<V extends object, R>(build: (db: Reader, values: V) => Compilable<R>) {
  const compiled = new WeakMap<object, Compiled<R>>();
  return async (db: Reader, values: V): Promise<QueryResult<R>> => {
    const given = values as Record<string, unknown>;
    const names = Object.keys(given);
    if (names.some((n) => needsBuilding(given[n]))) return db.executeQuery(build(db, values));
    // One adapter per Kysely instance, shared by its transactions: the key of an engine and its plugins.
    const engine = db.getExecutor().adapter;
    let c = compiled.get(engine);
    if (!c) compiled.set(engine, (c = compile(db, build, names)));
    const parameters = c.query.parameters.map((p, i) => {
      const name = c.slots[i];
      return name === null ? p : given[name];
    });
    return db.executeQuery({ ...c.query, parameters, queryId: createQueryId() });
  };
}
