import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type pg from 'pg';
import type SQLite from 'better-sqlite3';

/** The pg pool behind a PostgreSQL Kysely instance (src/store/postgres.ts registers it). */
const pools = new WeakMap<Kysely<any>, pg.Pool>();
/** The read-only connection beside a SQLite Kysely instance's own (src/store/db.ts registers it). */
const readers = new WeakMap<Kysely<any>, SQLite.Database>();
let statements = 0;

export function registerPool(db: Kysely<any>, pool: pg.Pool): void {
  pools.set(db, pool);
}

export function registerReader(db: Kysely<any>, reader: SQLite.Database): void {
  readers.set(db, reader);
}

/**
 * A query run on every request (the key lookup, a job read), built and compiled once instead of
 * per call: kysely's builder and compiler cost more CPU than SQLite's indexed read itself. The
 * query is built with one placeholder string per argument; each call substitutes the arguments at
 * the placeholders' parameter positions, so the SQL text (and the prepared statement it keys) is
 * the one kysely produced. Only arguments that become bound parameters are allowed.
 *
 * On PostgreSQL the query runs as a named prepared statement straight on the pool (parsed and
 * planned once per connection instead of on every call; measured +20–27 % status polls per second
 * in scale-out). That is safe there because a pooled query never joins a transaction in progress.
 *
 * On SQLite it runs on a read-only connection of its own beside kysely's (src/store/db.ts), as a
 * statement prepared once, called synchronously: kysely's one connection is shared, and its mutex
 * (which keeps a read out of another caller's open transaction) and async driver layers cost
 * more per poll than the indexed read (measured in docs/BENCHMARKS.md). In WAL mode the other
 * connection reads the last committed state and is never blocked by a writer, so a poll sees
 * every committed change — a revoked key is refused on its next request — and never a
 * transaction's uncommitted rows. These queries are never run inside a transaction.
 */
export function compiledOnce<R>(db: Kysely<any>, arity: number, build: (...args: string[]) => Compilable<R>): (...args: unknown[]) => Promise<R[]> {
  const run = compiledOnceSync(db, arity, build);
  return async (...args) => run(...args);
}

/**
 * The same, answering synchronously where it can (SQLite's read connection) and with a promise
 * otherwise (PostgreSQL): for the hooks of every request, which stay callback-style when nothing
 * needs awaiting (an async hook costs a promise and a turn of the microtask queue per request).
 */
export function compiledOnceSync<R>(db: Kysely<any>, arity: number, build: (...args: string[]) => Compilable<R>): (...args: unknown[]) => R[] | Promise<R[]> {
  let compiled: { query: CompiledQuery<R>; positions: number[]; name: string } | null = null;
  let prepared: SQLite.Statement | null = null;
  const compile = () => {
    const marks = Array.from({ length: arity }, (_, i) => `\u0000compiled-once-${i}\u0000`);
    const query = build(...marks).compile();
    const positions = query.parameters.map((p) => marks.indexOf(p as string));
    if (positions.some((i) => i < 0) || new Set(positions).size !== arity) throw new Error(`compiledOnce: every bound parameter must be one of the arguments, and every argument used: ${query.sql}`);
    return { query, positions, name: `easel_q${++statements}` };
  };
  const viaPool = async (pool: pg.Pool, query: CompiledQuery<R>, name: string, parameters: unknown[]): Promise<R[]> => {
    try {
      return (await pool.query({ name, text: query.sql, values: parameters })).rows as R[];
    } catch (e) {
      // 0A000 "cached plan must not change result type": a newer release migrated the table under
      // this process's prepared statement. Answer through the unprepared path instead of failing.
      if ((e as { code?: string }).code !== '0A000') throw e;
    }
    return (await db.executeQuery<R>({ ...query, parameters })).rows;
  };
  return (...args: unknown[]) => {
    if (args.length !== arity) throw new Error(`compiledOnce: expected ${arity} arguments, got ${args.length}`);
    compiled ??= compile();
    const { query, positions, name } = compiled;
    const parameters = positions.map((i) => args[i]);
    const reader = readers.get(db);
    if (reader) {
      prepared ??= reader.prepare(query.sql);
      return prepared.all(...parameters) as R[];
    }
    const pool = pools.get(db);
    if (pool) return viaPool(pool, query, name, parameters);
    return db.executeQuery<R>({ ...query, parameters }).then((r) => r.rows);
  };
}
