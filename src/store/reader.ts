import SQLite from 'better-sqlite3';

export type Row = Record<string, unknown>;

/**
 * A read-only connection for audits (`easel verify`, the tests' ledger audit), on either database,
 * with plain SQL (`$1`, `$2` placeholders, rewritten for SQLite). Not kysely: an audit must read
 * several queries from one snapshot, and a kysely transaction on SQLite takes the write lock
 * (BEGIN IMMEDIATE, src/store/db.ts), which would stall the serving processes.
 */
export interface Reader {
  driver: 'sqlite' | 'postgres';
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs `fn` inside one read snapshot: a deferred read transaction (SQLite WAL), REPEATABLE READ READ ONLY (PostgreSQL). */
  snapshot<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function sqliteReader(file: string): Reader {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return {
    driver: 'sqlite',
    query: async (q, params = []) => db.prepare(q.replace(/\$\d+/g, '?')).all(...params) as Row[],
    snapshot: async (fn) => {
      db.exec('begin');
      try {
        return await fn();
      } finally {
        db.exec('commit');
      }
    },
    close: async () => {
      db.close();
    },
  };
}

export async function postgresReader(url: string): Promise<Reader> {
  // pg is loaded only for a PostgreSQL deployment.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    driver: 'postgres',
    query: async (q, params = []) => (await client.query(q, params)).rows as Row[],
    snapshot: async (fn) => {
      await client.query('begin isolation level repeatable read read only');
      try {
        return await fn();
      } finally {
        await client.query('commit');
      }
    },
    close: () => client.end(),
  };
}
