import { sql } from 'kysely';
import type { Db } from './db.js';

/** One trivial read: resolves when the database answers (GET /health), rejects with its error otherwise. */
export async function pingStore(db: Db): Promise<void> {
  await db.selectFrom('accounts').select(sql<number>`1`.as('one')).limit(1).execute();
}
