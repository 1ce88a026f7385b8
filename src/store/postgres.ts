import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from './schema.js';
import { registerPool } from './compiled-once.js';

// bigint (count(*), money columns) and numeric (sum of bigints) arrive as strings by default.
// Every such value here is integer micro-EUR or a count, far inside Number's exact range.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

/**
 * How long a query waits for a pool connection (a free one, or a new one being made) before it
 * fails. Without it a query waits for ever while the server restarts with every connection busy;
 * with it the request answers 503 (src/util/dependency-fault.ts) and a worker retries later.
 */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * A connection the pool could not make fails with a bare socket error (ECONNREFUSED, …) that says
 * nothing about PostgreSQL; it is marked as the database's (src/util/dependency-fault.ts), so a
 * worker knows the store is down rather than some other peer. Both of pg-pool's forms (promise,
 * and the callback its own `query` uses) go through here.
 */
function markConnectErrors(pool: pg.Pool): void {
  const connect = pool.connect.bind(pool) as (cb?: (err: Error | undefined, ...rest: unknown[]) => void) => Promise<pg.PoolClient> | undefined;
  const mark = (e: unknown) => {
    if (e && typeof e === 'object') (e as { easelDependency?: string }).easelDependency = 'database';
    return e;
  };
  (pool as unknown as { connect: typeof connect }).connect = (cb) => {
    if (cb) return connect((err, ...rest) => cb(err ? (mark(err) as Error) : err, ...rest));
    return connect()!.catch((e: unknown) => Promise.reject(mark(e)));
  };
}

export function openPostgres(url: string, poolSize: number): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'easel', connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor a checked-out one between two queries of a transaction (a server restart terminates every
  // session, 57P01): pg emits that on the client, which has no listener while checked out. The query
  // in flight fails on its own; the pool drops the broken client when it comes back.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  markConnectErrors(pool);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  registerPool(db, pool);
  return { db, pool };
}
