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

export type Db = Kysely<Database>;

/**
 * Write transactions must take SQLite's write lock up front (BEGIN IMMEDIATE): a deferred
 * transaction that reads and then writes can fail with SQLITE_BUSY when another process
 * (an operator CLI, a second server) committed in between, and busy_timeout cannot help it.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    // The config object is private in the base class; we pass it again through our own field.
    return new ImmediateSqliteDriver((this as unknown as { _ourConfig: ConstructorParameters<typeof SqliteDialect>[0] })._ourConfig);
  }
}

/** SQLite's page cache per connection, KiB. */
const SQLITE_CACHE_KIB = 4096;

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
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
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
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  // better-sqlite3 builds SQLite with a 16 MB page cache per connection; the reads on the request
  // path are indexed lookups of a few pages (the OS file cache holds the rest), so 4 MB keeps them
  // as fast and the server's resident memory ~12 MB smaller (bench row 5).
  sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  const cfg = { database: withStatementCache(sqlite) };
  const dialect = new ImmediateSqliteDialect(cfg);
  (dialect as unknown as { _ourConfig: typeof cfg })._ourConfig = cfg;
  return new Kysely<Database>({ dialect });
}

export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
