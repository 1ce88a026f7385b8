import { PRIVATE_FILE_MODE, mkdirPrivate, sqliteFiles, tightenFiles } from '../util/private-files.js';
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
} from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations.js';
import { registerReader } from './compiled-once.js';

export type Db = Kysely<Database>;

/**
 * Write transactions must take SQLite's write lock up front (BEGIN IMMEDIATE): a deferred
 * transaction that reads and then writes can fail with SQLITE_BUSY when another process
 * (an operator CLI, a second server) committed in between, and busy_timeout cannot help it.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  private wrapped: { of: DatabaseConnection; as: DatabaseConnection } | null = null;

  constructor(
    config: ConstructorParameters<typeof SqliteDriver>[0],
    private readonly gate: BusyGate,
  ) {
    super(config);
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  /**
   * SQLite rolls a transaction back by itself when a statement fails with SQLITE_FULL, IOERR or
   * NOMEM; kysely's rollback would then fail ("no transaction is active") and hide the real error
   * (a full disk would answer 500 instead of 503).
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.gate.inTransaction) await super.rollbackTransaction(connection);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const c = await super.acquireConnection();
    if (this.wrapped?.of !== c) this.wrapped = { of: c, as: this.gate.wrap(c) };
    return this.wrapped.as;
  }
}

type SqliteConfig = ConstructorParameters<typeof SqliteDialect>[0];

class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    // The config object is private in the base class; we pass it again through our own fields.
    const own = this as unknown as { _ourConfig: SqliteConfig; _busyGate: BusyGate };
    return new ImmediateSqliteDriver(own._ourConfig, own._busyGate);
  }
}

/** How long a statement waits for another connection's write lock (busy_timeout), normally. */
const BUSY_TIMEOUT_MS = 5000;
/** The wait once the database was just found locked for that long, until a write goes through. */
const BUSY_TIMEOUT_LOCKED_MS = 200;

/**
 * better-sqlite3 waits for a lock synchronously, stalling the whole process. When another
 * connection holds the write lock for long (an operator's `BEGIN EXCLUSIVE`, a backup), every write
 * would stall the event loop for the full busy_timeout in turn, and requests that need no write
 * would queue behind them. So after one statement waited the full timeout and still found the lock
 * taken, the next ones wait only briefly (their requests answer 503, src/util/dependency-fault.ts)
 * until a write succeeds, which restores the normal wait. Reads go on meanwhile (WAL).
 */
class BusyGate {
  private locked = false;

  constructor(private readonly sqlite: SQLite.Database) {}

  get inTransaction(): boolean {
    return this.sqlite.inTransaction;
  }

  wrap(c: DatabaseConnection): DatabaseConnection {
    return {
      executeQuery: async <R>(q: CompiledQuery) => {
        try {
          const r = await c.executeQuery<R>(q);
          if (this.locked && !/^\s*select\b/i.test(q.sql)) this.set(false);
          return r;
        } catch (e) {
          if (!this.locked && String((e as { code?: unknown }).code ?? '').startsWith('SQLITE_BUSY')) this.set(true);
          throw e;
        }
      },
      streamQuery: (q, chunkSize) => c.streamQuery(q, chunkSize),
    };
  }

  private set(locked: boolean): void {
    this.locked = locked;
    this.sqlite.pragma(`busy_timeout = ${locked ? BUSY_TIMEOUT_LOCKED_MS : BUSY_TIMEOUT_MS}`);
  }
}

/** SQLite's page cache per connection, KiB. */
const SQLITE_CACHE_KIB = 4096;
/** The hot-read connection's: a key row and a job row are a few pages each. */
const READER_CACHE_KIB = 1024;

/** Distinct statements kept prepared; every statement the app runs fits many times over. */
const STATEMENT_CACHE_SIZE = 500;
/** Longer SQL (multi-row inserts) is prepared each time rather than kept. */
const CACHEABLE_SQL_CHARS = 4096;

/**
 * kysely's SQLite driver calls `prepare` for every execution, and SQLite parses and plans the
 * statement each time: about a sixth of the CPU of a status poll. kysely always passes values as
 * parameters, so a statement's SQL text identifies it; prepared statements are kept by that text
 * (least recently used dropped first). Safe because kysely runs one statement at a time on the
 * single connection and never leaves one mid-iteration (no streaming queries here).
 */
function withStatementCache(sqlite: SQLite.Database, reader: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      // The reader first: the last connection to close checkpoints and removes the WAL.
      reader.close();
      sqlite.close();
    },
    prepare: (sql: string) => {
      const hit = cache.get(sql);
      if (hit) {
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const stmt = sqlite.prepare(sql);
      if (sql.length <= CACHEABLE_SQL_CHARS) {
        cache.set(sql, stmt);
        if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      return stmt;
    },
  };
}

export function openSqlite(file: string): Db {
  mkdirPrivate(path.dirname(file));
  // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files it creates the mode
  // of the database file, so they are private too. An older, looser file is tightened.
  fs.closeSync(fs.openSync(file, 'a', PRIVATE_FILE_MODE));
  tightenFiles(sqliteFiles(file));
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a committed job or ledger row survives power loss, not only a process crash.
  sqlite.pragma(`synchronous = ${process.env.EASEL_SQLITE_SYNCHRONOUS === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  sqlite.pragma('foreign_keys = ON');
  // better-sqlite3 builds SQLite with a 16 MB page cache per connection; the reads on the request
  // path are indexed lookups of a few pages (the OS file cache holds the rest), so 4 MB keeps them
  // as fast and the server's resident memory ~12 MB smaller (bench row 5).
  sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  // The request path's hot reads (key lookup, job read) on a read-only connection of their own
  // (src/store/compiled-once.ts): opened after WAL mode is set, so it reads committed state beside writers.
  const reader = new SQLite(file, { readonly: true, fileMustExist: true });
  reader.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  reader.pragma(`cache_size = -${READER_CACHE_KIB}`);
  const cfg = { database: withStatementCache(sqlite, reader) };
  const dialect = new ImmediateSqliteDialect(cfg);
  Object.assign(dialect, { _ourConfig: cfg, _busyGate: new BusyGate(sqlite) });
  const db = new Kysely<Database>({ dialect });
  registerReader(db, reader);
  return db;
}

export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
