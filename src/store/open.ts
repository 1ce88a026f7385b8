import type { Config } from '../config.js';
import { openSqlite, migrate, type Db } from './db.js';
import { openPostgres } from './postgres.js';

export interface Store {
  db: Db;
  driver: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/** SQLite in the data directory by default; PostgreSQL when EASEL_DATABASE_URL is set. Migrates either. */
export async function openStore(config: Config, opts: { migrate?: boolean } = {}): Promise<Store> {
  const store: Store = config.databaseUrl
    ? (() => {
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
