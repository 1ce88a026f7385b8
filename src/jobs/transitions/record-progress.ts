import type { Db } from '../../store/db.js';
import type { Fence } from './context.js';

/**
 * Stores what the running attempt reports now (src/progress/reporter.ts). One statement, fenced in
 * the statement itself: it lands only while the writer's claim still owns the job and the job is
 * processing, so a stale worker or an ended job can never show progress again. Not a change of
 * state (status, money and events are untouched; `updated_at` too, so lists and ETags stay still):
 * no transaction, no lock, no event. False when the writer no longer owns the job.
 */
export async function recordProgress(db: Db, fence: Fence, progressJson: string): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set({ progress_json: progressJson })
    .where('id', '=', fence.jobId)
    .where('lease_token', '=', fence.token)
    .where('status', '=', 'processing')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
