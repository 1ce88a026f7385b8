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

/**
 * A query that timed out client-side (pg's `query_timeout`, 'Query read timeout') is still running
 * on the server, or the server is frozen: the connection is mid-query and possibly mid-transaction.
 * Returned to the pool as it is, the next borrower's queries would queue behind the stale one, or
 * run inside the abandoned transaction and commit it. So the connection is ended on the spot
 * (pg destroys the socket when a query is active; `_ending` makes the pool drop it on release, and
 * the server rolls the transaction back when it sees the socket gone). pg-pool's own `query` already
 * releases with the error (dropping the client); kysely calls `client.query` and releases without
 * one, hence this wrapper on every pooled client.
 */
function endOnQueryTimeout(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const end = (e: unknown) => {
    if (isQueryTimeout(e)) client.end().catch(() => undefined);
  };
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, ...rest: unknown[]) => {
        end(err);
        return (last as (...a: unknown[]) => unknown)(err, ...rest);
      };
    }
    const r = query(...args);
    // Attached before the caller's own handler, so the client is ending before it is released.
    if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).catch(end);
    return r;
  };
}

function isQueryTimeout(e: unknown): boolean {
  return e instanceof Error && e.message === 'Query read timeout';
}

export interface PostgresOptions {
  /**
   * Client-side bound on every query (pg's `query_timeout`), 0 for none. It covers what the
   * server's `statement_timeout` cannot: a server that is frozen or cut off answers nothing, not
   * even its own timeout. The serving pool sets it (EASEL_DATABASE_QUERY_TIMEOUT_MS); migrations
   * run without it (an index build, or waiting for another process's migration lock, may be long).
   */
  queryTimeoutMs?: number;
  /**
   * Server-side bound on a transaction left open with no statement running (PostgreSQL's
   * `idle_in_transaction_session_timeout`), 0 for none. A process that stops between two statements
   * of a transaction (SIGSTOP, a long GC pause, a suspended VM) keeps its row locks (a job's row, an
   * account's balance) for as long as it is stopped, and every other process's transition on that
   * job would queue behind them; the server ends such a session, rolls it back and frees its locks.
   * The waking process finds its connection gone: a database fault (src/util/dependency-fault.ts).
   * Every pool sets it (EASEL_DATABASE_IDLE_TX_TIMEOUT_MS), migrations included: none of Easel's
   * transactions waits on anything but its own statements.
   */
  idleInTransactionTimeoutMs?: number;
}

export function openPostgres(url: string, poolSize: number, opts: PostgresOptions = {}): { db: Kysely<Database>; pool: pg.Pool } {
  const queryTimeout = opts.queryTimeoutMs && opts.queryTimeoutMs > 0 ? opts.queryTimeoutMs : undefined;
  const idleTx = opts.idleInTransactionTimeoutMs && opts.idleInTransactionTimeoutMs > 0 ? opts.idleInTransactionTimeoutMs : undefined;
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: 'easel',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: queryTimeout,
    // Sent in the startup packet, so it holds for every session of the pool from its first statement.
    idle_in_transaction_session_timeout: idleTx,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor a checked-out one between two queries of a transaction (a server restart terminates every
  // session, 57P01): pg emits that on the client, which has no listener while checked out. The query
  // in flight fails on its own; the pool drops the broken client when it comes back.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    if (queryTimeout) endOnQueryTimeout(client);
  });
  markConnectErrors(pool);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  registerPool(db, pool);
  return { db, pool };
}
