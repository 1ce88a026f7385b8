import { sql } from 'kysely';
import type { Db } from '../../store/db.js';
import type { JobRow } from '../row.js';
import { release } from '../../billing/ledger.js';
import { microsToEur } from '../../util/money.js';
import { appendJobEvent } from '../event-log.js';
import { TERMINAL } from '../types.js';
import { endedAt, lockJob, ownedJob, STALE, updateOwned, type Fence, type Stale, type TransitionContext } from './context.js';
import { settleCanceled } from './settle-canceled.js';
import { remainingHold } from '../remaining-hold.js';
import { batchItemEnded } from './batch-item.js';

export interface Failure {
  code: string;
  message: string;
}

/**
 * The worker ends its job as failed: what was captured stays captured (finished work), the rest
 * of the hold is released, the task is removed. A failure after a cancel request (the pipeline
 * stopped for it, or failed meanwhile) ends canceled.
 */
export async function fail(trx: Db, ctx: TransitionContext, fence: Fence, failure: Failure): Promise<'failed' | 'canceled' | Stale> {
  const job = await ownedJob(trx, fence);
  if (!job) return STALE;
  return settleFailed(trx, ctx, job, failure, fence);
}

/**
 * The queue engine gave up on a job no live worker settled (its workers kept dying): fail it for
 * whoever held it. Not fenced by a claim, since none is alive; it clears the token, so a worker
 * that was only paused finds itself stale when it wakes.
 */
export async function abandon(trx: Db, ctx: TransitionContext, jobId: string, failure: Failure): Promise<'failed' | 'canceled' | 'ended'> {
  await lockJob(trx, jobId);
  const job = await trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  if (!job || TERMINAL.has(job.status)) {
    await ctx.queue.complete(trx, jobId);
    return 'ended';
  }
  return settleFailed(trx, ctx, job, failure);
}

async function settleFailed(trx: Db, ctx: TransitionContext, job: JobRow, failure: Failure, fence?: Fence): Promise<'failed' | 'canceled'> {
  if (job.cancel_requested_at != null) {
    await settleCanceled(trx, ctx, job);
    return 'canceled';
  }
  const remaining = remainingHold(job);
  const message = failure.message.slice(0, 2000);
  await release(trx, job.account_id, job.id, remaining, `job failed: ${failure.code}`);
  const now = Date.now();
  await (fence ? updateOwned(trx, fence) : trx.updateTable('jobs').where('id', '=', job.id))
    .set({
      status: 'failed',
      error_code: failure.code,
      error_message: message,
      refunded_micros: Number(job.refunded_micros) + remaining,
      started_at: sql`coalesce(started_at, ${now})`,
      ...endedAt(ctx, job, now),
    })
    .execute();
  await appendJobEvent(trx, job, 'job.failed', { code: failure.code, message, refunded_eur: microsToEur(Number(job.refunded_micros) + remaining) });
  await ctx.queue.complete(trx, job.id);
  await batchItemEnded(trx, ctx, job, { status: 'failed', chargedMicros: Number(job.charged_micros), refundedMicros: Number(job.refunded_micros) + remaining, error: { code: failure.code, message } });
  return 'failed';
}
