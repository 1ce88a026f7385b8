import type { Db } from '../../store/db.js';
import { remainingHold } from '../remaining-hold.js';
import { balanceOf, capture, release } from '../../billing/ledger.js';
import { microsToEur } from '../../util/money.js';
import { appendJobEvent } from '../event-log.js';
import { endedAt, ownedJob, STALE, updateOwned, type Fence, type Stale, type TransitionContext } from './context.js';
import { settleCanceled } from './settle-canceled.js';
import { batchItemEnded } from './batch-item.js';

/** Builds the stored result once the balance after settlement is known, so the result can quote it. */
export type ResultBuilder = (balanceAfterMicros: number, totalChargedMicros: number) => unknown;

/**
 * Completes a job: captures `finalCaptureMicros` (on top of anything captured step by step),
 * releases what is left of the hold, stores the result and removes the queue task. A job whose
 * client asked to cancel while it ran is settled as canceled instead: the result is discarded and
 * its final price not charged.
 */
export async function complete(
  trx: Db,
  ctx: TransitionContext,
  fence: Fence,
  finalCaptureMicros: number,
  buildResult: ResultBuilder,
): Promise<'completed' | 'canceled' | Stale> {
  const job = await ownedJob(trx, fence);
  if (!job) return STALE;
  if (job.cancel_requested_at != null) {
    await settleCanceled(trx, ctx, job);
    return 'canceled';
  }
  const remaining = remainingHold(job);
  const take = Math.min(finalCaptureMicros, remaining);
  await capture(trx, job.account_id, job.id, take, 'job completed');
  await release(trx, job.account_id, job.id, remaining - take, 'unused hold returned');
  const bal = await balanceOf(trx, job.account_id);
  const charged = Number(job.charged_micros) + take;
  const refunded = Number(job.refunded_micros) + (remaining - take);
  const now = Date.now();
  await updateOwned(trx, fence)
    .set({
      status: 'completed',
      result_json: JSON.stringify(buildResult(bal.available, charged)),
      charged_micros: charged,
      refunded_micros: refunded,
      scenes_completed: job.scenes_total,
      error_code: null,
      error_message: null,
      ...endedAt(ctx, job, now),
    })
    .execute();
  await appendJobEvent(trx, job, 'job.completed', { charged_eur: microsToEur(charged), refunded_eur: microsToEur(refunded) });
  await ctx.queue.complete(trx, job.id);
  await batchItemEnded(trx, ctx, job, { status: 'completed', chargedMicros: charged, refundedMicros: refunded });
  return 'completed';
}
