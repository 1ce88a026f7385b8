import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/**
 * A query run on every request (the key lookup, a job read), built and compiled once instead of
 * per call: kysely's builder and compiler cost more CPU than SQLite's indexed read itself. The
 * query is built with one placeholder string per argument; each call substitutes the arguments at
 * the placeholders' parameter positions, so the SQL text (and the prepared statement it keys) is
 * the one kysely produced. Only arguments that become bound parameters are allowed.
 */
export function compiledOnce<R>(db: Kysely<any>, arity: number, build: (...args: string[]) => Compilable<R>): (...args: unknown[]) => Promise<R[]> {
  let compiled: { query: CompiledQuery<R>; positions: number[] } | null = null;
  const compile = () => {
    const marks = Array.from({ length: arity }, (_, i) => `\u0000compiled-once-${i}\u0000`);
    const query = build(...marks).compile();
    const positions = query.parameters.map((p) => marks.indexOf(p as string));
    if (positions.some((i) => i < 0) || new Set(positions).size !== arity) throw new Error(`compiledOnce: every bound parameter must be one of the arguments, and every argument used: ${query.sql}`);
    return { query, positions };
  };
  return async (...args: unknown[]) => {
    if (args.length !== arity) throw new Error(`compiledOnce: expected ${arity} arguments, got ${args.length}`);
    compiled ??= compile();
    const { query, positions } = compiled;
    const res = await db.executeQuery<R>({ ...query, parameters: positions.map((i) => args[i]) });
    return res.rows;
  };
}
