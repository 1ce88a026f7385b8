import { sql } from 'kysely';
import type { Db } from '../../store/db.js';
import type { JobRow } from '../row.js';
import { appendJobEvent } from '../event-log.js';
import { TERMINAL } from '../types.js';
import { lockJob, STALE, type Fence, type Stale, type TransitionContext } from './context.js';
import { settleCanceled } from './settle-canceled.js';
import { batchItemStarted } from './batch-item.js';

export type StartOutcome = { outcome: 'started'; job: JobRow } | { outcome: 'ended' | 'canceled' | Stale };

/**
 * A claimed task becomes a running job: the claim's token takes the job row (any earlier claim's
 * writes are refused from here on), `attempts` counts the run, and the first start appends
 * `job.started`. Refused when the queue no longer gives this claim the task (it paused past its
 * lease and another worker claimed it). A job that ended meanwhile drops its task; one whose
 * client asked to cancel while it was between workers is settled as canceled instead of run.
 */
export async function start(trx: Db, ctx: TransitionContext, fence: Fence): Promise<StartOutcome> {
  await lockJob(trx, fence.jobId);
  const job = await trx.selectFrom('jobs').selectAll().where('id', '=', fence.jobId).executeTakeFirst();
  if (!job || TERMINAL.has(job.status)) {
    await ctx.queue.complete(trx, fence.jobId);
    return { outcome: 'ended' };
  }
  if (!(await ctx.queue.holds(trx, fence.jobId, fence.token))) return { outcome: STALE };
  if (job.cancel_requested_at != null) {
    await settleCanceled(trx, ctx, job);
    return { outcome: 'canceled' };
  }
  const now = Date.now();
  await trx
    .updateTable('jobs')
    .set({ status: 'processing', lease_token: fence.token, progress_json: null, started_at: sql`coalesce(started_at, ${now})`, attempts: sql`attempts + 1`, updated_at: now })
    .where('id', '=', fence.jobId)
    .execute();
  // A retried attempt is not a new start: clients see job.started once.
  if (job.status === 'pending') {
    await appendJobEvent(trx, job, 'job.started', { attempt: Number(job.attempts) + 1 });
    await batchItemStarted(trx, ctx, job);
  }
  return {
    outcome: 'started',
    job: { ...job, status: 'processing', lease_token: fence.token, progress_json: null, started_at: job.started_at ?? now, attempts: Number(job.attempts) + 1, updated_at: now },
  };
}
