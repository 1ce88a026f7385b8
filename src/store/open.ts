import type { Config } from '../config.js';
import { openSqlite, migrate, type Db } from './db.js';

export interface Store {
  db: Db;
  driver: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/** SQLite in the data directory by default; PostgreSQL when EASEL_DATABASE_URL is set. Migrates either. */
export async function openStore(config: Config, opts: { migrate?: boolean } = {}): Promise<Store> {
  // pg is imported only when PostgreSQL is configured (a single-machine server never loads it).
  const store: Store = config.databaseUrl
    ? await (async () => {
        const { openPostgres } = await import('./postgres.js');
        const { db } = openPostgres(config.databaseUrl!, config.databasePoolSize);
        return { db, driver: 'postgres' as const, close: () => db.destroy() };
      })()
    : (() => {
        const db = openSqlite(config.databaseFile);
        return { db, driver: 'sqlite' as const, close: () => db.destroy() };
      })();
  if (opts.migrate !== false) await migrate(store.db);
  return store;
}
