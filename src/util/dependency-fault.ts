/**
 * Which failures mean "a dependency is unavailable right now" rather than "a bug": the database
 * cannot be reached or is restarting, the object store cannot be reached, the disk is full, SQLite
 * is locked by another connection. The API answers these 503 `service_unavailable` with
 * `Retry-After` (src/api/error-handler.ts); a worker gives its job back to run again later instead
 * of failing it (src/worker/pool.ts). Anything not recognised here stays a 500: a bug must not hide
 * behind a 503.
 */
/** `network`: a bare socket error from a peer we could not name (every peer of the server is a dependency). */
export type Dependency = 'database' | 'storage' | 'disk' | 'network';

export interface DependencyFault {
  dependency: Dependency;
  /** Seconds a client should wait before retrying. */
  retryAfterS: number;
}

/** Socket-level failures: the peer is down, restarting, or the connection was cut. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
/** A full or read-only filesystem. */
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);
/**
 * PostgreSQL SQLSTATEs of an unavailable server or a session it ended: class 08 (connection
 * exception), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up /
 * shutting down), 53300 too_many_connections, 25P03 idle_in_transaction_session_timeout and 57P05
 * idle_session_timeout (the process had stopped mid-transaction, src/store/postgres.ts: its
 * transaction was rolled back, nothing of it was written, and it is retried like a lost connection).
 */
const PG_UNAVAILABLE = /^(08...|57P0[1235]|53300|25P03)$/;
/**
 * node-postgres's own messages when the connection dies or cannot be made in time, or a query got
 * no answer within the pool's `query_timeout` (a frozen or partitioned server: src/store/postgres.ts).
 */
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|not queryable|^Query read timeout$/i;

interface ErrorLike {
  /** Set by the store on errors it knows are its own (src/store/postgres.ts). */
  easelDependency?: unknown;
  code?: unknown;
  name?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
}

function codeOf(e: ErrorLike): string {
  return typeof e.code === 'string' ? e.code : '';
}

/** Classifies an error (and its `cause` / AggregateError members); null when it is not a dependency fault. */
export function dependencyFault(err: unknown, depth = 0): DependencyFault | null {
  if (!err || typeof err !== 'object' || depth > 4) return null;
  const e = err as ErrorLike;
  const code = codeOf(e);
  const message = typeof e.message === 'string' ? e.message : '';
  // SQLite (better-sqlite3 sets code to SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_FULL, SQLITE_IOERR_…).
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return { dependency: 'database', retryAfterS: 2 };
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) return { dependency: 'disk', retryAfterS: 10 };
  if (DISK_CODES.has(code)) return { dependency: 'disk', retryAfterS: 10 };
  // The AWS SDK marks its errors with $metadata: a network failure, a timeout, or the store's own 5xx.
  if (e.$metadata !== undefined || e.$fault !== undefined) {
    const status = e.$metadata?.httpStatusCode;
    if (NETWORK_CODES.has(code) || e.name === 'TimeoutError' || e.name === 'RequestTimeout' || (status !== undefined && status >= 500)) return { dependency: 'storage', retryAfterS: 5 };
  }
  // PostgreSQL: the server's SQLSTATE, node-postgres's connection errors, or a connect the pool could not make.
  if (PG_UNAVAILABLE.test(code) || PG_MESSAGES.test(message) || e.easelDependency === 'database') return { dependency: 'database', retryAfterS: 2 };
  if (NETWORK_CODES.has(code)) {
    return { dependency: 'network', retryAfterS: 3 };
  }
  if (Array.isArray(e.errors)) {
    for (const x of e.errors) {
      const f = dependencyFault(x, depth + 1);
      if (f) return f;
    }
  }
  return dependencyFault(e.cause, depth + 1);
}
