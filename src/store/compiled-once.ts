import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type pg from 'pg';

/** The pg pool behind a PostgreSQL Kysely instance (src/store/postgres.ts registers it). */
const pools = new WeakMap<Kysely<any>, pg.Pool>();
let statements = 0;

export function registerPool(db: Kysely<any>, pool: pg.Pool): void {
  pools.set(db, pool);
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
 * in scale-out). That is safe there because a pooled query never joins a transaction in progress. SQLite
 * keeps kysely's path: its one connection is shared, and only kysely's mutex keeps a read from
 * running inside another caller's open transaction.
 */
export function compiledOnce<R>(db: Kysely<any>, arity: number, build: (...args: string[]) => Compilable<R>): (...args: unknown[]) => Promise<R[]> {
  let compiled: { query: CompiledQuery<R>; positions: number[]; name: string } | null = null;
  const compile = () => {
    const marks = Array.from({ length: arity }, (_, i) => `\u0000compiled-once-${i}\u0000`);
    const query = build(...marks).compile();
    const positions = query.parameters.map((p) => marks.indexOf(p as string));
    if (positions.some((i) => i < 0) || new Set(positions).size !== arity) throw new Error(`compiledOnce: every bound parameter must be one of the arguments, and every argument used: ${query.sql}`);
    return { query, positions, name: `easel_q${++statements}` };
  };
  return async (...args: unknown[]) => {
    if (args.length !== arity) throw new Error(`compiledOnce: expected ${arity} arguments, got ${args.length}`);
    compiled ??= compile();
    const { query, positions, name } = compiled;
    const parameters = positions.map((i) => args[i]);
    const pool = pools.get(db);
    if (pool) {
      try {
        return (await pool.query({ name, text: query.sql, values: parameters })).rows as R[];
      } catch (e) {
        // 0A000 "cached plan must not change result type": a newer release migrated the table under
        // this process's prepared statement. Answer through the unprepared path instead of failing.
        if ((e as { code?: string }).code !== '0A000') throw e;
      }
    }
    return (await db.executeQuery<R>({ ...query, parameters })).rows;
  };
}
