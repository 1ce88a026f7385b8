import type { Db } from '../../store/db.js';

/**
 * The retention sweep's mark, for a whole batch in one statement (one short write transaction):
 * these jobs' files are gone. Fenced by the state itself rather than a lease (the jobs have ended
 * and hold none): only a job still unmarked and still due is marked, so a job given a new
 * retention or reopened (a scene retry clears result_expires_at) since the batch was read is
 * left alone, and two sweepers marking the same job count it once. Returns how many it marked.
 */
export async function markResultsExpired(db: Db, ids: readonly string[], dueAt: number, now = Date.now()): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .updateTable('jobs')
    .set({ result_expired_at: now, updated_at: now })
    .where('id', 'in', ids)
    .where('result_expired_at', 'is', null)
    .where('result_expires_at', '<=', dueAt)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
