import type { Config } from '../config.js';
import { openSqlite, migrate, type Db } from './db.js';

export interface Store {
  db: Db;
  driver: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/**
 * SQLite in the data directory by default; PostgreSQL when EASEL_DATABASE_URL is set. Migrates either.
 * `unboundedQueries`: no PostgreSQL query timeout (the operator's `migrate` command).
 */
export async function openStore(config: Config, opts: { migrate?: boolean; unboundedQueries?: boolean } = {}): Promise<Store> {
  // pg is imported only when PostgreSQL is configured (a single-machine server never loads it).
  const store: Store = config.databaseUrl
    ? await (async () => {
        const { openPostgres } = await import('./postgres.js');
        if (opts.migrate !== false) {
          // Migrations on a connection of their own without the query bound: an index build, or
          // waiting for another process's migration lock, may legitimately take longer.
          const m = openPostgres(config.databaseUrl!, 1, { idleInTransactionTimeoutMs: config.databaseIdleTxTimeoutMs });
          try {
            await migrate(m.db);
          } finally {
            await m.db.destroy();
          }
        }
        const { db } = openPostgres(config.databaseUrl!, config.databasePoolSize, {
          queryTimeoutMs: opts.unboundedQueries ? 0 : config.databaseQueryTimeoutMs,
          idleInTransactionTimeoutMs: config.databaseIdleTxTimeoutMs,
        });
        return { db, driver: 'postgres' as const, close: () => db.destroy() };
      })()
    : (() => {
        const db = openSqlite(config.databaseFile);
        return { db, driver: 'sqlite' as const, close: () => db.destroy() };
      })();
  if (opts.migrate !== false && store.driver === 'sqlite') await migrate(store.db);
  return store;
}
