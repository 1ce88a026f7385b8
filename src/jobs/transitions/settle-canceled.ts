import type { Db } from '../../store/db.js';
import type { JobRow } from '../row.js';
import { remainingHold } from '../remaining-hold.js';
import { release } from '../../billing/ledger.js';
import { microsToEur } from '../../util/money.js';
import { appendJobEvent } from '../event-log.js';
import { endedAt, type TransitionContext } from './context.js';
import { CANCELED_MESSAGE } from '../seed-status.js';
import { batchItemEnded } from './batch-item.js';

/**
 * Ends a job as canceled inside the caller's transaction (the job row already locked, and owned
 * where a worker settles it): what was captured step by step stays captured (finished scenes are
 * kept), the rest of the hold goes back, the queue task is removed and `job.canceled` is appended.
 * `error_code` is `canceled` so a synchronous request waiting for the job answers 409.
 */
export async function settleCanceled(trx: Db, ctx: TransitionContext, job: JobRow): Promise<void> {
  const remaining = remainingHold(job);
  await release(trx, job.account_id, job.id, remaining, 'job canceled');
  const now = Date.now();
  const refunded = Number(job.refunded_micros) + remaining;
  await trx
    .updateTable('jobs')
    .set({
      status: 'canceled',
      error_code: 'canceled',
      error_message: CANCELED_MESSAGE,
      refunded_micros: refunded,
      cancel_requested_at: job.cancel_requested_at ?? now,
      ...endedAt(ctx, job, now),
    })
    .where('id', '=', job.id)
    .execute();
  await appendJobEvent(trx, job, 'job.canceled', {
    scenes_completed: Number(job.scenes_completed),
    scenes_total: Number(job.scenes_total),
    charged_eur: microsToEur(Number(job.charged_micros)),
    refunded_eur: microsToEur(refunded),
  });
  await ctx.queue.remove(trx, job.id);
  await batchItemEnded(trx, ctx, job, { status: 'canceled', chargedMicros: Number(job.charged_micros), refundedMicros: refunded });
}
